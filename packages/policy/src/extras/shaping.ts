/**
 * The traffic shaping helper (KumoMTA's `policy-extras.shaping`; Sterna's Lua version in
 * packages/lua/src/policy-extras/shaping.lua) for TypeScript policies, reading the same files:
 * Sterna's default `shaping.toml` (shipped with @sterna/lua) and the operator's, merged as
 *
 *     default -> provider -> provider+source -> site (mx_rollup) -> domain (mx_rollup=false)
 *     -> site+source -> domain+source
 *
 * each step in file order, `replace_base` restarting. A provider's `provider_*` limits become
 * entries of the `additional_*` maps, which merge key by key. Automation rules go to the daemon
 * (Sterna runs them itself; no TSA daemon is needed).
 *
 *     import { shaping } from '@sterna/policy/extras';
 *     const shaper = shaping.setupWithAutomation({ extra_files: ['/etc/sterna/shaping.toml'] });
 *     on('get_egress_path_config', shaper.getEgressPathConfig);
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type DurationInput, parseDuration } from '@sterna/core';
import { POLICY_EXTRAS_ROOT, policyBridge } from '@sterna/lua';
import { on } from '../events.js';
import { configureShapingAutomation, log, lookupMxHosts } from './daemon.js';
import { type DataFile, fileList } from './data-files.js';
import { cached, dataSource } from './data-source.js';
import { make } from './make.js';
import {
  automationRules,
  type DaemonRule,
  loadShaping,
  type MatchRule,
  type ShapingData,
  type ShapingEntry,
} from './shaping-data.js';
import { put, type Table } from './support.js';

const WHAT = 'shaping helper';

/**
 * Sterna's own default shaping file (the one the Lua helper loads), shipped in @sterna/lua
 * (`src/` from sources, `dist/` when built), loaded unless `no_default_files`.
 */
export function defaultShapingFile(): string {
  return join(POLICY_EXTRAS_ROOT, 'policy-extras', 'shaping.toml');
}

// KumoMTA's packaged files: a policy that names them gets Sterna's default file in place of
// the first; the community file is skipped (with a warning) when it is not installed.
const KUMO_DEFAULT = '/opt/kumomta/share/policy-extras/shaping.toml';
const KUMO_COMMUNITY = '/opt/kumomta/share/community/shaping.toml';

// KumoMTA merges these maps key by key across blocks and files; every other key replaces.
const MERGED_MAPS = new Set([
  'additional_connection_limits',
  'additional_message_rate_throttles',
  'additional_source_selection_rates',
]);

/** A domain's MX host names (lower case, no final dot, sorted); `false` when the look-up fails. */
type Lookup = (domain: string) => Promise<readonly string[] | false>;

/** The egress path options for (domain, source), as `makeEgressPath` takes them. */
export type EgressPathParams = Table;

function files(extra: readonly string[] | undefined, withDefault: boolean): string[] {
  const list: string[] = [];
  let hasDefault = false;
  if (withDefault) {
    list.push(defaultShapingFile());
    hasDefault = true;
  }
  for (const f of extra ?? []) {
    if (f === KUMO_DEFAULT && !existsSync(f)) {
      if (!hasDefault) list.push(defaultShapingFile());
      hasDefault = true;
    } else if (f === KUMO_COMMUNITY && !existsSync(f)) {
      log('warn', `shaping: ${f} is not installed (Sterna does not ship it); skipped`);
    } else list.push(f);
  }
  return list;
}

// MX host names per domain, kept for `ttl` seconds (each setup its own cache).
function mxCache(ttl: number): Lookup {
  const kept = new Map<string, () => Promise<readonly string[] | false>>();
  return (domain) => {
    let get = kept.get(domain);
    if (!get) {
      if (kept.size >= 4096) kept.delete(kept.keys().next().value!);
      get = cached(ttl, () =>
        lookupMxHosts(domain).then(
          (hosts) =>
            hosts.length === 0
              ? (false as const)
              : hosts.map((h) => h.toLowerCase().replace(/\.$/, '')).sort(),
          () => false as const,
        ),
      );
      kept.set(domain, get);
    }
    return get();
  };
}

const endsWith = (s: string, suffix: string) => suffix === '' || s.endsWith(suffix);

function providerMatches(
  entry: ShapingEntry,
  domain: string,
  hosts: readonly string[] | false,
): boolean {
  const mxRules: MatchRule[] = [];
  for (const m of entry.match ?? []) {
    if (m.DomainSuffix !== undefined && endsWith(domain, m.DomainSuffix)) return true;
    if (m.MXSuffix !== undefined || m.HostName !== undefined) mxRules.push(m);
  }
  if (!hosts || mxRules.length === 0) return false;
  // Every MX host must match one of the MX rules (a vanity domain mixing providers matches none).
  return hosts.every((h) =>
    mxRules.some(
      (m) =>
        (m.MXSuffix !== undefined && endsWith(h, m.MXSuffix)) ||
        (m.HostName !== undefined && h === m.HostName),
    ),
  );
}

function sameSite(a: readonly string[] | false, b: readonly string[] | false): boolean {
  if (!a || !b || a.length !== b.length) return false;
  return a.every((h, i) => h === b[i]);
}

/**
 * The merged egress path options for (domain, source): plain data, not yet validated. Exported
 * for tools and tests.
 */
export async function resolve(
  data: ShapingData,
  domainIn: string | undefined,
  source: string | undefined,
  lookup: Lookup,
): Promise<EgressPathParams> {
  const domain = String(domainIn ?? '').toLowerCase();
  let params: Table = {};
  const apply = (block: Table, replace = false) => {
    if (replace) params = {};
    for (const [k, v] of Object.entries(block)) {
      const current = params[k];
      if (MERGED_MAPS.has(k) && isMap(v) && isMap(current)) put(params, k, { ...current, ...v });
      else put(params, k, v);
    }
  };
  const { entries, rollup } = data;
  const hosts = await lookup(domain);

  for (const e of entries) if (e.kind === 'default') apply(e.params, e.replace_base);
  // What a matching provider adds over its block (again after its source block): its name, and
  // its provider_* limits as entries of the additional_* maps, named for the provider and the
  // source, so they cap this source across every site of the provider.
  const providerLimits = (e: ShapingEntry, selection: unknown) => {
    const scope = `shaping-provider-${e.name}-${source ?? 'nil'}`;
    const implied: Table = { provider_name: e.name };
    if (e.provider_connection_limit !== undefined) {
      implied.additional_connection_limits = { [`${scope}-limit`]: e.provider_connection_limit };
    }
    if (e.provider_max_message_rate !== undefined) {
      implied.additional_message_rate_throttles = {
        [`${scope}-rate`]: e.provider_max_message_rate,
      };
    }
    if (selection !== undefined) {
      implied.additional_source_selection_rates = { [`${scope}-selection-rate`]: selection };
    }
    apply(implied);
  };
  const providers: ShapingEntry[] = [];
  for (const e of entries) {
    if (e.kind === 'provider' && providerMatches(e, domain, hosts)) {
      providers.push(e);
      apply(e.params, e.replace_base);
      providerLimits(e, e.provider_source_selection_rate);
    }
  }
  const sourceBlock = (e: ShapingEntry) =>
    source === undefined ? undefined : e.sources.get(source);
  for (const e of providers) {
    const s = sourceBlock(e);
    if (s) {
      apply(s.params, s.replace_base);
      providerLimits(e, s.provider_source_selection_rate ?? e.provider_source_selection_rate);
    }
  }
  // A domain block applies to its site (every domain sharing its MX hosts) unless mx_rollup=false.
  const siteBlock = async (e: ShapingEntry) => {
    if (e.kind !== 'domain' || rollup.get(e.name) === false) return false;
    if (e.name === domain) return true;
    return hosts !== false && sameSite(await lookup(e.name), hosts);
  };
  const domainBlock = (e: ShapingEntry) =>
    e.kind === 'domain' && rollup.get(e.name) === false && e.name === domain;
  const site: boolean[] = [];
  for (const e of entries) site.push(await siteBlock(e));
  entries.forEach((e, i) => {
    if (site[i]) apply(e.params, e.replace_base);
  });
  for (const e of entries) if (domainBlock(e)) apply(e.params, e.replace_base);
  entries.forEach((e, i) => {
    const s = sourceBlock(e);
    if (s && site[i]) apply(s.params, s.replace_base);
  });
  for (const e of entries) {
    const s = sourceBlock(e);
    if (s && domainBlock(e)) apply(s.params, s.replace_base);
  }
  return params;
}

const isMap = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The `get_egress_path_config` handler: `(domain, egress_source, site_name)` → path options. */
export type GetEgressPathConfig = (
  domain: string,
  egressSource: string,
  siteName?: string,
) => Promise<EgressPathParams>;

// What both setups share: the kept data, the handler, and the validate_config check.
function makeShaper(list: readonly DataFile[], cacheTtl: DurationInput | undefined) {
  const ttl = cacheTtl ?? '1 minute';
  const lookup = mxCache(parseDuration(ttl, 'shaping helper cache_ttl'));
  const data = dataSource(WHAT, list, loadShaping, { ttl });
  const handler: GetEgressPathConfig = async (domain, egressSource) =>
    make('makeEgressPath', await resolve(data(), domain, egressSource, lookup));
  return { handler, data };
}

/**
 * `shaping:setup(extra_files)`, the older form: loads Sterna's default file and the given ones
 * and returns the `get_egress_path_config` handler (registering only `validate_config`).
 */
export function setup(extraFiles: readonly string[] = []): GetEgressPathConfig {
  return makeShaper(files(fileList(extraFiles, 'shaping') as string[], true), undefined).handler;
}

/** The options of {@link setupWithAutomation} (KumoMTA's names). */
export interface AutomationOptions {
  /** The TSA daemon's URLs: accepted, not used (Sterna runs the rules itself). */
  readonly publish?: readonly string[] | undefined;
  /** Likewise. */
  readonly subscribe?: readonly string[] | undefined;
  /** The operator's shaping files, after Sterna's default one. */
  readonly extra_files?: readonly string[] | undefined;
  /** Leave out Sterna's default file. @default false */
  readonly no_default_files?: boolean | undefined;
  /** How long the files and MX look-ups are kept. @default '1 minute' */
  readonly cache_ttl?: DurationInput | undefined;
}

const OPTION_KEYS = new Set([
  'publish',
  'subscribe',
  'extra_files',
  'no_default_files',
  'cache_ttl',
]);

/** The shaper `setupWithAutomation` returns (KumoMTA's, camelCase, with the Lua names too). */
export interface Shaper {
  /** The `get_egress_path_config` handler. */
  readonly getEgressPathConfig: GetEgressPathConfig;
  /** KumoMTA publishes log records to its TSA daemon here; Sterna has nothing to publish. */
  setupPublish(): void;
  /** A `should_enqueue_log_record` handler: always `undefined` (nothing to publish). */
  shouldEnqueueLogRecord(msg: unknown, hookName?: string): undefined;
  /** A `get_queue_config` handler: always `undefined` (no TSA queue to configure). */
  getQueueConfig(
    domain: string,
    tenant?: string,
    campaign?: string,
    routingDomain?: string,
  ): undefined;
  /** The same handlers by the Lua helper's names, for a line-by-line port. */
  readonly get_egress_path_config: GetEgressPathConfig;
  readonly should_enqueue_log_record: Shaper['shouldEnqueueLogRecord'];
  readonly setup_publish: Shaper['setupPublish'];
  readonly get_queue_config: Shaper['getQueueConfig'];
}

/**
 * Sterna's own event (not KumoMTA's): the daemon calls it after each configuration reload for
 * the automation rules as they are now, in the shape handed at `pre_init`.
 */
export const RULES_EVENT = 'sterna.shaping_automation_rules';

// The data of every setupWithAutomation in this policy, in call order.
const automated: (() => ShapingData)[] = [];

function currentRules(): DaemonRule[] {
  return automated.flatMap((data) => automationRules(data()));
}

/**
 * `shaping:setup_with_automation{…}`: the shaper. Automation rules are handed to the daemon at
 * `pre_init` (a `pre_init` handler is registered), and answer the daemon's
 * `sterna.shaping_automation_rules` event after a reload. Files that do not load are logged at
 * `pre_init` (startup goes on, as in KumoMTA); `getEgressPathConfig` throws the same text.
 *
 * @throws TypeError naming an unknown option.
 */
export function setupWithAutomation(options: AutomationOptions = {}): Shaper {
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) {
      throw new TypeError(
        `shaping.setupWithAutomation: unknown option '${key}' (expected ${[...OPTION_KEYS].join(', ')})`,
      );
    }
  }
  const extra =
    options.extra_files === undefined ? [] : (fileList(options.extra_files, 'shaping') as string[]);
  const { handler, data } = makeShaper(
    files(extra, options.no_default_files !== true),
    options.cache_ttl,
  );
  // One handler per policy load: a bridge without it (a new load, a test's reset) starts over.
  if (!policyBridge().handlers.has(RULES_EVENT)) {
    automated.length = 0;
    on(RULES_EVENT, currentRules);
  }
  automated.push(data);

  on('pre_init', async () => {
    let compiled: ShapingData;
    try {
      compiled = data();
    } catch (error) {
      log('error', error instanceof Error ? error.message : String(error));
      return undefined;
    }
    await configureShapingAutomation(automationRules(compiled));
    return undefined;
  });

  const setupPublish = () => {};
  const shouldEnqueueLogRecord = () => undefined;
  const getQueueConfig = () => undefined;
  return {
    getEgressPathConfig: handler,
    setupPublish,
    shouldEnqueueLogRecord,
    getQueueConfig,
    get_egress_path_config: handler,
    setup_publish: setupPublish,
    should_enqueue_log_record: shouldEnqueueLogRecord,
    get_queue_config: getQueueConfig,
  };
}
