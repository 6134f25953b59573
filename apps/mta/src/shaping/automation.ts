/*
 * Traffic shaping automation, in process: what KumoMTA's TSA daemon does with the `automation`
 * rules of shaping.toml (docs.kumomta.com: userguide "Configuring Traffic Shaping Automation",
 * reference `kumo.shaping.load` "Traffic Shaping Automation Rules"). What those pages say:
 *
 * - A rule's `regex` (Rust syntax) is tried on the delivery response of each log record; the
 *   documented example `regex = "250 2\\.0\\.0 Ok"` shows the text is the one-line response,
 *   `<code> <enhanced code> <content>`, searched (not anchored). `match_internal = false` (the
 *   default) skips responses whose content starts `KumoMTA internal: `: Sterna's own failures
 *   (a suspended queue's TransientFailure) would otherwise feed a suspension forever.
 * - Scope: a domain block's rules apply to its site (every domain with the same MX hosts)
 *   unless `mx_rollup = false`; a provider block's to the domains its match list selects;
 *   `default`'s to every record.
 * - `Suspend`: delivery to the triggering record's site from its source (the ready queue
 *   `<source>-><site>@<proto>`, the record's `site`); other sources go on.
 *   `SetConfig{name,value}`: an egress path override for that source and site.
 *   `SetDomainConfig{name,value}`: the same, but for the destination domain only (as though
 *   `mx_rollup = false`).
 *   `SuspendTenant`: the scheduled queues of the record's destination domain and tenant; no
 *   tenant, no effect. `SuspendCampaign`: domain, tenant and campaign; no tenant, no effect; no
 *   campaign, as `SuspendTenant`. `Bounce`: the scheduled queues of the domain;
 *   `BounceTenant`/`BounceCampaign` narrow it as the suspensions do.
 * - `duration` is how long the effect lasts. `trigger = 'Immediate'` (default) acts on every
 *   match; KumoMTA re-applies the action each time, extending its life. Here an identical
 *   effect that still has at least half its duration to run is not issued again (no lever call
 *   per record of a busy queue), so it ends between duration/2 and duration after the last match.
 * - `trigger = {Threshold = '10/hr'}` acts once 10 matches fell within the preceding hour; the
 *   docs stress it is a count in a window, not a rate divided down to seconds as throttles are.
 *   Counted per rule and per target of its action (a `Suspend` counts per ready queue, a
 *   `Bounce` per domain…), exactly for limits up to 256 and in 64 slices of the period above.
 * - Reasons follow the TSA's `automation rule: <regex>`, with where the rule was written. The
 *   matched response goes to the log, not the reason: a reason appears inside Sterna's own
 *   internal responses, which a `match_internal` rule would then match again.
 */
import {
  errorText,
  formatEnhancedCode,
  type Logger,
  parseQueueName,
  type Response,
} from '@sterna/core';
import { type LogRecord, parseThrottleSpec } from '@sterna/core/engine';
import { type ConfigParams, translateRegex } from '@sterna/lua';
import { thresholdWindow, type Window } from './threshold-window.js';

/** One automation rule as the shaping helper hands it to the daemon. */
export type AutomationRule = ConfigParams['shaping_automation']['rules'][number];

/** Which scheduled queues a suspension or bounce applies to: every field set must match. */
export interface ScheduledSelector {
  readonly domain: string;
  readonly tenant?: string;
  readonly campaign?: string;
}

/** What automation acts with: the daemon's suspensions, bounces and path overrides. */
export interface AutomationLevers {
  /** Ready-queue suspension: `name` is the record's `site` (the ready queue name `<source>-><site>@<proto>`). */
  suspendReadyQueue(name: string, reason: string, durationSeconds: number): void;
  /** Scheduled-queue suspension (KumoMTA admin suspend semantics), selector fields all must match. */
  suspendScheduled(selector: ScheduledSelector, reason: string, durationSeconds: number): void;
  /** Admin bounce rule (bounces matching queued and new messages for the duration). */
  bounce(selector: ScheduledSelector, reason: string, durationSeconds: number): void;
  /**
   * Egress path override for a source and site name (`SetConfig`; `site` is the site name, the
   * ready queue name without `<source>->` and `@<proto>`) or for a destination domain
   * (`SetDomainConfig`).
   */
  setPathConfig(
    scope: { source: string; site: string } | { domain: string },
    name: string,
    value: unknown,
    reason: string,
    durationSeconds: number,
  ): void;
}

/** What {@link ShapingAutomation} is built from. */
export interface ShapingAutomationOptions {
  /** The rules the shaping helper handed over (`shaping_automation`). */
  readonly rules: readonly AutomationRule[];
  /** Where actions go. */
  readonly levers: AutomationLevers;
  /**
   * A domain's MX host names (the daemon's resolver); may reject. Answers are cached for five
   * minutes, failures for one, at most 4,096 domains.
   */
  readonly mxHosts: (domain: string) => Promise<readonly string[]>;
  /** Actions at info, rules left out at warn, look-up failures and no-effect matches at debug. */
  readonly log: Logger;
  /** Epoch ms. @default Date.now */
  readonly now?: () => number;
}

const INTERNAL = 'KumoMTA internal: ';
const MX_TTL_MS = 5 * 60_000;
const MX_FAILED_TTL_MS = 60_000;
const MX_CACHE_SIZE = 4096;
/** Bound on threshold windows and on remembered effects. */
const MAX_KEYS = 10_000;

interface Compiled {
  readonly rule: AutomationRule;
  readonly index: number;
  /** `domain gmail.com in /path/shaping.toml`. */
  readonly where: string;
  readonly threshold: { readonly limit: number; readonly periodMs: number } | undefined;
  /** Lower-cased domain of a domain block. */
  readonly domain: string;
  readonly domainSuffixes: readonly string[];
  readonly mxSuffixes: readonly string[];
  readonly hostNames: readonly string[];
}

/** The rules sharing one regex: it is tried once per record. */
interface Pattern {
  readonly re: RegExp;
  readonly rules: Compiled[];
  anyInternal: boolean;
}

/** What a matching record tells about where its action applies. */
interface Target {
  readonly domain: string;
  readonly tenant: string | undefined;
  readonly campaign: string | undefined;
  /** The ready queue name. */
  readonly readyQueue: string;
  readonly source: string | undefined;
  readonly siteName: string | undefined;
}

/** An action made concrete for one record: a key for "the same effect", and how to issue it. */
interface Effect {
  readonly key: string;
  readonly what: string;
  readonly issue: (reason: string, seconds: number) => void;
}

type Hosts = readonly string[] | null;

/**
 * Applies shaping automation rules to log records: a matching TransientFailure or Bounce
 * suspends, bounces or overrides egress path settings through the daemon's levers, for the
 * rule's duration. `observe` runs for every record and costs one regex test per distinct regex
 * for failures (nothing for other records); MX look-ups that a site or provider scope needs
 * are cached and done off that path.
 */
export class ShapingAutomation {
  readonly #levers: AutomationLevers;
  readonly #mxHosts: (domain: string) => Promise<readonly string[]>;
  readonly #log: Logger;
  readonly #now: () => number;
  #patterns: Pattern[] = [];
  #count = 0;
  #generation = 0;
  readonly #windows = new Map<string, Window>();
  /** Effect key → epoch ms its last issue lapses. */
  readonly #active = new Map<string, number>();
  readonly #mx = new Map<string, { expires: number; hosts: Hosts }>();
  readonly #lookups = new Map<string, Promise<void>>();
  readonly #inFlight = new Set<Promise<void>>();

  constructor(options: ShapingAutomationOptions) {
    this.#levers = options.levers;
    this.#mxHosts = options.mxHosts;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.setRules(options.rules);
  }

  /** The rules in force (those that compiled). */
  get ruleCount(): number {
    return this.#count;
  }

  /**
   * Replaces the rules (a reload): threshold counts start again; effects already issued stay
   * remembered, so a rule kept across the reload does not issue them anew. A rule whose regex
   * or threshold cannot be used is logged and left out.
   */
  setRules(rules: readonly AutomationRule[]): void {
    const patterns = new Map<string, Pattern>();
    let count = 0;
    rules.forEach((rule, index) => {
      const compiled = compileRule(rule, index);
      if (typeof compiled === 'string') {
        this.#log.warn(`traffic shaping automation: rule left out: ${compiled}`);
        return;
      }
      let pattern = patterns.get(rule.regex);
      if (!pattern) {
        try {
          const { source, flags } = translateRegex(rule.regex);
          pattern = { re: new RegExp(source, flags), rules: [], anyInternal: false };
        } catch (error) {
          this.#log.warn(
            `traffic shaping automation: rule left out: ${compiled.where}: regex /${rule.regex}/: ${errorText(error)}`,
          );
          return;
        }
        patterns.set(rule.regex, pattern);
      }
      pattern.rules.push(compiled);
      pattern.anyInternal ||= rule.match_internal;
      count++;
    });
    this.#patterns = [...patterns.values()];
    this.#count = count;
    this.#generation++;
    this.#windows.clear();
  }

  /** Looks at one log record; acts when it matches a rule. Never throws. */
  observe(record: LogRecord): void {
    if (record.type !== 'TransientFailure' && record.type !== 'Bounce') return;
    if (this.#patterns.length === 0) return;
    const response = record.response;
    const internal = response.content.startsWith(INTERNAL);
    const line = responseLine(response);
    const matched: Compiled[] = [];
    for (const pattern of this.#patterns) {
      if (internal && !pattern.anyInternal) continue;
      if (!pattern.re.test(line)) continue;
      for (const c of pattern.rules) if (!internal || c.rule.match_internal) matched.push(c);
    }
    if (matched.length === 0) return;
    try {
      this.#matched(record, line, matched);
    } catch (error) {
      this.#log.error(`traffic shaping automation: ${errorText(error)}`, { response: line });
    }
  }

  /** Resolves once the MX look-ups and rule checks started so far are done (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  #matched(record: LogRecord, line: string, rules: readonly Compiled[]): void {
    const now = this.#now();
    const target = targetOf(record);
    const waiting: Compiled[] = [];
    for (const c of rules) {
      const inScope = this.#inScope(c, target.domain);
      if (inScope === 'unknown') waiting.push(c);
      else if (inScope) this.#act(c, target, line, now);
    }
    if (waiting.length > 0) this.#later(waiting, target, line, now);
  }

  // Rules whose scope needs MX hosts not cached yet: look them up, then check again.
  #later(rules: readonly Compiled[], target: Target, line: string, now: number): void {
    const generation = this.#generation;
    const domains = new Set([target.domain]);
    for (const c of rules) if (c.rule.scope === 'domain') domains.add(c.domain);
    const work = Promise.all([...domains].map((d) => this.#lookup(d))).then(() => {
      if (generation !== this.#generation) return;
      for (const c of rules) {
        if (this.#inScope(c, target.domain) === true) this.#act(c, target, line, now);
      }
    });
    const tracked = work
      .catch((error) =>
        this.#log.error(`traffic shaping automation: ${errorText(error)}`, { response: line }),
      )
      .finally(() => this.#inFlight.delete(tracked));
    this.#inFlight.add(tracked);
  }

  /** True, false, or 'unknown' while MX hosts it depends on are not cached. */
  #inScope(c: Compiled, domain: string): boolean | 'unknown' {
    switch (c.rule.scope) {
      case 'default':
        return true;
      case 'domain': {
        if (domain === c.domain) return true;
        if (c.rule.mx_rollup === false || domain === '') return false;
        const mine = this.#cached(domain);
        const theirs = this.#cached(c.domain);
        if (mine === undefined || theirs === undefined) return 'unknown';
        return mine !== null && theirs !== null && sameHosts(mine, theirs);
      }
      case 'provider': {
        if (c.domainSuffixes.some((s) => domain.endsWith(s))) return true;
        if ((c.mxSuffixes.length === 0 && c.hostNames.length === 0) || domain === '') return false;
        const hosts = this.#cached(domain);
        if (hosts === undefined) return 'unknown';
        return hosts !== null && hosts.length > 0 && hosts.every((h) => providerHost(c, h));
      }
    }
  }

  #act(c: Compiled, target: Target, line: string, now: number): void {
    const effect = effectOf(c.rule, target, this.#levers);
    if (typeof effect === 'string') {
      this.#log.debug(`traffic shaping automation: ${c.where} matched; ${effect}`, {
        response: line,
      });
      return;
    }
    if (c.threshold && !this.#counted(`${c.index}\u0000${effect.key}`, c.threshold, now)) return;
    const ms = c.rule.duration * 1000;
    const lapses = this.#active.get(effect.key);
    if (lapses !== undefined && lapses - now >= ms / 2) return;
    this.#remember(effect.key, now + ms, now);
    const reason = `automation rule: /${c.rule.regex}/ (${c.where})`;
    try {
      effect.issue(reason, c.rule.duration);
    } catch (error) {
      this.#log.error(
        `traffic shaping automation: could not apply ${effect.what}: ${errorText(error)}`,
        { rule: c.where },
      );
      this.#active.delete(effect.key);
      return;
    }
    this.#log.info(
      `traffic shaping automation: ${effect.what} for ${c.rule.duration}s: rule /${c.rule.regex}/ (${c.where}) matched "${line}"`,
      {
        action: c.rule.action,
        duration: c.rule.duration,
        rule: c.where,
        regex: c.rule.regex,
        response: line,
      },
    );
  }

  /** Counts a match against a threshold; true once the window holds `limit` matches. */
  #counted(key: string, threshold: NonNullable<Compiled['threshold']>, now: number): boolean {
    let window = this.#windows.get(key);
    if (window) this.#windows.delete(key);
    else {
      window = thresholdWindow(threshold.limit);
      if (this.#windows.size >= MAX_KEYS) this.#windows.delete(this.#windows.keys().next().value!);
    }
    // Re-inserted: the map's order is least recently matched first.
    this.#windows.set(key, window);
    return window.hit(now, threshold.limit, threshold.periodMs);
  }

  #remember(key: string, lapses: number, now: number): void {
    this.#active.delete(key);
    if (this.#active.size >= MAX_KEYS) {
      for (const [k, at] of this.#active) if (at <= now) this.#active.delete(k);
      if (this.#active.size >= MAX_KEYS) this.#active.delete(this.#active.keys().next().value!);
    }
    this.#active.set(key, lapses);
  }

  /** Cached MX hosts: sorted names, null when the look-up failed, undefined when not known. */
  #cached(domain: string): Hosts | undefined {
    const entry = this.#mx.get(domain);
    if (!entry) return undefined;
    if (entry.expires <= this.#now()) {
      this.#mx.delete(domain);
      return undefined;
    }
    return entry.hosts;
  }

  #lookup(domain: string): Promise<void> {
    if (this.#cached(domain) !== undefined) return Promise.resolve();
    let pending = this.#lookups.get(domain);
    if (pending) return pending;
    pending = Promise.resolve()
      .then(() => this.#mxHosts(domain))
      .then(
        (hosts) => this.#store(domain, normalizeHosts(hosts), MX_TTL_MS),
        (error) => {
          this.#log.debug(
            `traffic shaping automation: MX look-up for ${domain} failed (${errorText(error)}); rules that need it are skipped`,
          );
          this.#store(domain, null, MX_FAILED_TTL_MS);
        },
      )
      .finally(() => this.#lookups.delete(domain));
    this.#lookups.set(domain, pending);
    return pending;
  }

  #store(domain: string, hosts: Hosts, ttl: number): void {
    if (this.#mx.size >= MX_CACHE_SIZE) this.#mx.delete(this.#mx.keys().next().value!);
    this.#mx.set(domain, { expires: this.#now() + ttl, hosts });
  }
}

/** `421 4.7.28 text`, or `421 text` without an enhanced code: what rules are matched against. */
function responseLine(response: Response): string {
  const enhanced = response.enhanced_code;
  return enhanced
    ? `${response.code} ${formatEnhancedCode(enhanced)} ${response.content}`
    : `${response.code} ${response.content}`;
}

function describeRule(rule: AutomationRule): string {
  const section = rule.scope === 'default' ? 'default' : `${rule.scope} ${rule.name}`;
  return `${section} in ${rule.file}`;
}

function compileRule(rule: AutomationRule, index: number): Compiled | string {
  const where = describeRule(rule);
  let threshold: Compiled['threshold'];
  if (rule.trigger !== 'Immediate') {
    try {
      const spec = parseThrottleSpec(rule.trigger.Threshold);
      threshold = { limit: spec.limit, periodMs: spec.period * 1000 };
    } catch (error) {
      return `${where}: trigger: ${errorText(error)}`;
    }
  }
  const match = rule.scope === 'provider' ? (rule.match ?? []) : [];
  const lower = (values: (string | undefined)[]) =>
    values.filter((v): v is string => v !== undefined).map((v) => v.toLowerCase());
  return {
    rule,
    index,
    where,
    threshold,
    domain: rule.scope === 'domain' ? rule.name.toLowerCase() : '',
    domainSuffixes: lower(match.map((m) => m.DomainSuffix)),
    mxSuffixes: lower(match.map((m) => m.MXSuffix)),
    hostNames: lower(match.map((m) => m.HostName)),
  };
}

function targetOf(record: LogRecord): Target {
  const parts = parseQueueName(record.queue);
  const readyQueue = record.site;
  // `<source>-><site>@<proto>`: the source is the record's, when it has one.
  const arrow = readyQueue.indexOf('->');
  const source = record.egress_source ?? (arrow > 0 ? readyQueue.slice(0, arrow) : undefined);
  const start = source === undefined ? -1 : source.length + 2;
  const end = readyQueue.lastIndexOf('@');
  const siteName =
    start >= 2 && end > start && readyQueue.startsWith(`${source}->`)
      ? readyQueue.slice(start, end)
      : undefined;
  return {
    domain: parts.domain.toLowerCase(),
    // An empty tenant or campaign (`campaign:@domain`) is none.
    tenant: parts.tenant || undefined,
    campaign: parts.campaign || undefined,
    readyQueue,
    source,
    siteName,
  };
}

/** The action of `rule` for this record, or why it has none. */
function effectOf(rule: AutomationRule, t: Target, levers: AutomationLevers): Effect | string {
  const action = rule.action;
  if (typeof action === 'object') {
    const [kind, { name, value }] =
      'SetConfig' in action
        ? (['SetConfig', action.SetConfig] as const)
        : (['SetDomainConfig', action.SetDomainConfig] as const);
    const setting = `${name}=${JSON.stringify(value)}`;
    if (kind === 'SetDomainConfig') {
      if (t.domain === '') return 'the record has no destination domain';
      return {
        key: `domain-config\u0000${t.domain}\u0000${setting}`,
        what: `set ${setting} for domain ${t.domain}`,
        issue: (reason, s) => levers.setPathConfig({ domain: t.domain }, name, value, reason, s),
      };
    }
    const { source, siteName: site } = t;
    if (source === undefined || site === undefined) return 'the record has no egress path';
    return {
      key: `config\u0000${source}\u0000${site}\u0000${setting}`,
      what: `set ${setting} for source ${source} to site ${site}`,
      issue: (reason, s) => levers.setPathConfig({ source, site }, name, value, reason, s),
    };
  }
  if (action === 'Suspend') {
    if (t.readyQueue === '') return 'the record has no ready queue';
    return {
      key: `suspend-ready\u0000${t.readyQueue}`,
      what: `suspended ready queue ${t.readyQueue}`,
      issue: (reason, s) => levers.suspendReadyQueue(t.readyQueue, reason, s),
    };
  }
  if (t.domain === '') return 'the record has no destination domain';
  const bounce = action.startsWith('Bounce');
  const narrow = action.endsWith('Tenant')
    ? 'tenant'
    : action.endsWith('Campaign')
      ? 'campaign'
      : '';
  if (narrow !== '' && t.tenant === undefined)
    return `${action} needs a tenant, the record has none`;
  const selector: ScheduledSelector = {
    domain: t.domain,
    ...(narrow !== '' && { tenant: t.tenant }),
    ...(narrow === 'campaign' && t.campaign !== undefined && { campaign: t.campaign }),
  };
  const whom = [`domain ${selector.domain}`];
  if (selector.tenant !== undefined) whom.push(`tenant ${selector.tenant}`);
  if (selector.campaign !== undefined) whom.push(`campaign ${selector.campaign}`);
  return {
    key: `${bounce ? 'bounce' : 'suspend'}\u0000${JSON.stringify(selector)}`,
    what: `${bounce ? 'bounce' : 'suspended'} scheduled queues of ${whom.join(', ')}`,
    issue: (reason, s) =>
      bounce ? levers.bounce(selector, reason, s) : levers.suspendScheduled(selector, reason, s),
  };
}

function normalizeHosts(hosts: readonly string[]): readonly string[] {
  const names = new Set(hosts.map((h) => h.toLowerCase().replace(/\.$/, '')));
  names.delete('');
  return [...names].sort();
}

function sameHosts(a: readonly string[], b: readonly string[]): boolean {
  return a.length > 0 && a.length === b.length && a.every((h, i) => h === b[i]);
}

// A provider selects a domain when every one of its MX hosts matches an MXSuffix or HostName
// (a vanity domain mixing providers is none of them), as the shaping helper decides.
function providerHost(c: Compiled, host: string): boolean {
  return c.mxSuffixes.some((s) => host.endsWith(s)) || c.hostNames.includes(host);
}
