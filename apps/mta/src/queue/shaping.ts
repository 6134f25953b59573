import { randomUUID } from 'node:crypto';
import type { EgressPathConfig } from '@sterna/core';
import {
  type ConnectionLimiter,
  LocalConnectionLimits,
  LocalThrottles,
  parseThrottleSpec,
  type ThrottleResult,
  type ThrottleSpec,
  type ThrottleStore,
} from '@sterna/core/engine';
import { type LeverListener, markSharedIn, type SharedLevers } from './admin-rules.js';
import type { ReadyQueueSuspension } from './admin-types.js';

/** Where the engine's throttles and connection limits are kept (this process by default). */
export interface ShapingStores {
  readonly throttles: ThrottleStore;
  readonly limits: ConnectionLimiter;
}

/** Counters KumoMTA names `delayed_due_to_*`, and Sterna's for the egress path's throttles. */
export interface DelayCounters {
  /** `delayed_due_to_message_rate_throttle{queue}`: the scheduled queue's max_message_rate. */
  readonly messageRate: Map<string, number>;
  /** `delayed_due_to_throttle_insert_ready{queue}`: the throttle_insert_ready_queue event delayed it. */
  readonly throttleInsert: Map<string, number>;
  /** Sterna's `ready_queue_message_rate_throttled{service}`: a dispatcher waited on a path's message throttle. */
  readonly readyMessageRate: Map<string, number>;
  /** Sterna's `ready_queue_connection_rate_throttled{service}`: a connection waited on max_connection_rate. */
  readonly connectionRate: Map<string, number>;
  /** Sterna's `ready_queue_connection_limited{service}`: a connection waited on an additional limit. */
  readonly connectionLimited: Map<string, number>;
}

/**
 * How soon the engine looks again when a shared throttle or limit could not be checked (redis
 * unreachable): it waits rather than sending unchecked, and goes on by itself once checks work.
 */
export const SHARED_CHECK_RETRY_MS = 1500;

const bump = (counts: Map<string, number>, key: string) =>
  counts.set(key, (counts.get(key) ?? 0) + 1);

/**
 * The engine's traffic shaping state: the throttle and limit stores, parsed specs, and the
 * delay counters for metrics. Specs are parsed once per text.
 */
export class Shaping {
  readonly throttles: ThrottleStore;
  readonly limits: ConnectionLimiter;
  readonly delays: DelayCounters = {
    messageRate: new Map(),
    throttleInsert: new Map(),
    readyMessageRate: new Map(),
    connectionRate: new Map(),
    connectionLimited: new Map(),
  };
  readonly #specs = new Map<string, ThrottleSpec>();

  constructor(stores: Partial<ShapingStores> = {}, now: () => number = Date.now) {
    this.throttles = stores.throttles ?? new LocalThrottles(now);
    this.limits = stores.limits ?? new LocalConnectionLimits();
  }

  /** The parsed spec (policies validated it; a bad one here throws naming it). */
  spec(text: string): ThrottleSpec {
    let spec = this.#specs.get(text);
    if (!spec) {
      spec = parseThrottleSpec(text);
      if (this.#specs.size > 10_000) this.#specs.clear();
      this.#specs.set(text, spec);
    }
    return spec;
  }

  /** Checks (and, when allowed, counts) one operation against the throttle `key`. */
  check(key: string, spec: string): ThrottleResult | Promise<ThrottleResult> {
    return this.throttles.check(key, this.spec(spec));
  }

  /**
   * Checks several throttles for one operation, the smallest rate first (the likeliest to
   * refuse, so the others are rarely counted for nothing); stops at the first that refuses and
   * gives its answer, or undefined when all allowed (each then counted).
   */
  async firstRefusal(checks: readonly (readonly [key: string, spec: string])[]) {
    const perSecond = (text: string) => {
      const spec = this.spec(text);
      return spec.limit / spec.period;
    };
    const ordered =
      checks.length > 1 ? [...checks].sort((a, b) => perSecond(a[1]) - perSecond(b[1])) : checks;
    for (const [key, spec] of ordered) {
      const result = await this.check(key, spec);
      if (result.throttled) return result;
    }
    return undefined;
  }

  /** Counts a delay for metrics. */
  delayed(kind: keyof DelayCounters, label: string): void {
    bump(this.delays[kind], label);
  }

  /** Forgets the counters of queues that went away (KumoMTA prunes idle series). */
  prune(live: (kind: keyof DelayCounters, label: string) => boolean): void {
    for (const kind of Object.keys(this.delays) as (keyof DelayCounters)[]) {
      for (const label of this.delays[kind].keys())
        if (!live(kind, label)) this.delays[kind].delete(label);
    }
  }
}

/** A ready-queue suspension as kept (epoch ms). */
export interface ReadySuspensionRule {
  readonly id: string;
  readonly name: string;
  readonly reason: string;
  readonly expires: number;
  /**
   * The shared record (redis, named by its epoch) this lever was written to or read from;
   * unset while only this node knows it.
   */
  readonly shared?: string | undefined;
}

/**
 * Suspensions of ready queues by name (`suspend-ready-q`, automation's `Suspend`): a queue of
 * that name, now or made later, opens no connection until the suspension lapses or is
 * cancelled; `lifted` is told the name at either moment, so waiting messages go at once.
 */
export class ReadyQueueSuspensions implements SharedLevers<ReadySuspensionRule> {
  readonly #rules = new Map<string, ReadySuspensionRule>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #now: () => number;
  readonly #lifted: (name: string) => void;
  readonly #changed: () => void;
  listener: LeverListener<ReadySuspensionRule> | undefined;

  constructor(now: () => number, lifted: (name: string) => void, changed: () => void) {
    this.#now = now;
    this.#lifted = lifted;
    this.#changed = changed;
  }

  /** Suspends `name` for `seconds`. */
  add(name: string, reason: string, seconds: number): ReadySuspensionRule {
    const rule = { id: randomUUID(), name, reason, expires: this.#now() + seconds * 1000 };
    this.#put(rule);
    this.#changed();
    this.listener?.added(rule);
    return rule;
  }

  applyShared(rule: ReadySuspensionRule): void {
    if (rule.expires <= this.#now()) return;
    clearTimeout(this.#timers.get(rule.id));
    this.#put(rule);
    this.#changed();
  }

  dropShared(id: string): boolean {
    const rule = this.#rules.get(id);
    if (!rule) return false;
    this.#drop(rule);
    this.#changed();
    return true;
  }

  markShared(id: string, epoch: string): void {
    if (markSharedIn(this.#rules, id, epoch)) this.#changed();
  }

  /** Puts back a suspension kept from an earlier run (ignored once lapsed). */
  restore(rule: ReadySuspensionRule): void {
    if (rule.expires > this.#now()) this.#put(rule);
  }

  /** True when it existed. */
  cancel(id: string): boolean {
    const rule = this.#rules.get(id);
    if (!rule) return false;
    this.#drop(rule);
    this.#changed();
    this.listener?.cancelled(id);
    return true;
  }

  /** The live suspension of `name`, if any (the one lasting longest). */
  of(name: string): ReadySuspensionRule | undefined {
    if (this.#rules.size === 0) return undefined;
    const now = this.#now();
    let found: ReadySuspensionRule | undefined;
    for (const rule of this.#rules.values()) {
      if (rule.name === name && rule.expires > now && (!found || rule.expires > found.expires))
        found = rule;
    }
    return found;
  }

  /** The live suspensions, for persistence. */
  rules(): ReadySuspensionRule[] {
    const now = this.#now();
    return [...this.#rules.values()].filter((r) => r.expires > now);
  }

  list(): ReadyQueueSuspension[] {
    return this.rules().map((rule) => describeSuspension(rule, this.#now()));
  }

  /** Clears the timers (the engine is stopping). */
  stop(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  #put(rule: ReadySuspensionRule): void {
    this.#rules.set(rule.id, rule);
    const timer = setTimeout(
      () => {
        this.#drop(rule);
        this.#changed();
      },
      Math.max(0, rule.expires - this.#now()),
    );
    timer.unref();
    this.#timers.set(rule.id, timer);
  }

  #drop(rule: ReadySuspensionRule): void {
    this.#rules.delete(rule.id);
    clearTimeout(this.#timers.get(rule.id));
    this.#timers.delete(rule.id);
    if (!this.of(rule.name)) this.#lifted(rule.name);
  }
}

/** KumoMTA's list entry for a ready-queue suspension. */
export function describeSuspension(rule: ReadySuspensionRule, now: number): ReadyQueueSuspension {
  return {
    id: rule.id,
    name: rule.name,
    reason: rule.reason,
    duration: Math.max(0, Math.round((rule.expires - now) / 1000)),
    expires: new Date(rule.expires).toISOString(),
  };
}

/** Where an egress path override applies: one (source, site) path, or a destination domain. */
export type OverrideScope =
  | { readonly source: string; readonly site: string }
  | { readonly domain: string };

/** A temporary change to egress path settings (automation's `SetConfig` / `SetDomainConfig`). */
export interface PathOverride {
  readonly id: string;
  readonly scope: OverrideScope;
  readonly name: string;
  readonly value: unknown;
  readonly reason: string;
  readonly expires: number;
  /**
   * The shared record (redis, named by its epoch) this lever was written to or read from;
   * unset while only this node knows it.
   */
  readonly shared?: string | undefined;
}

/**
 * Egress path settings changed for a while. `apply` gives the path with the live overrides for
 * a (source, site, domain) laid over it; `changed` is told when one is added or lapses, so
 * ready queues read their path again.
 */
export class PathOverrides implements SharedLevers<PathOverride> {
  readonly #overrides = new Map<string, PathOverride>();
  readonly #now: () => number;
  readonly #changed: () => void;
  #timer: NodeJS.Timeout | undefined;
  listener: LeverListener<PathOverride> | undefined;

  constructor(now: () => number, changed: () => void) {
    this.#now = now;
    this.#changed = changed;
  }

  get size(): number {
    return this.#overrides.size;
  }

  /** Adds (or renews: same scope and name) an override for `seconds`. */
  set(scope: OverrideScope, name: string, value: unknown, reason: string, seconds: number): void {
    const replaced = this.#replace(scope, name);
    const override = {
      id: randomUUID(),
      scope,
      name,
      value,
      reason,
      expires: this.#now() + seconds * 1000,
    };
    this.#overrides.set(override.id, override);
    this.#arm();
    this.#changed();
    for (const id of replaced) this.listener?.cancelled(id);
    this.listener?.added(override);
  }

  /** Holds an override made elsewhere (it renews any of the same scope and name). */
  applyShared(override: PathOverride): void {
    if (override.expires <= this.#now()) return;
    this.#replace(override.scope, override.name);
    this.#overrides.set(override.id, override);
    this.#arm();
    this.#changed();
  }

  dropShared(id: string): boolean {
    if (!this.#overrides.delete(id)) return false;
    this.#arm();
    this.#changed();
    return true;
  }

  markShared(id: string, epoch: string): void {
    if (markSharedIn(this.#overrides, id, epoch)) this.#changed();
  }

  /** The live overrides, as {@link SharedLevers} names them. */
  rules(): PathOverride[] {
    return this.list();
  }

  // Drops the overrides a new one of the same scope and name renews; their ids.
  #replace(scope: OverrideScope, name: string): string[] {
    const replaced: string[] = [];
    for (const [id, o] of this.#overrides)
      if (o.name === name && sameScope(o.scope, scope)) {
        this.#overrides.delete(id);
        replaced.push(id);
      }
    return replaced;
  }

  /** Puts back an override kept from an earlier run (ignored once lapsed). */
  restore(override: PathOverride): void {
    if (override.expires > this.#now()) {
      this.#overrides.set(override.id, override);
      this.#arm();
    }
  }

  /** The live overrides, for persistence and listing. */
  list(): PathOverride[] {
    const now = this.#now();
    return [...this.#overrides.values()].filter((o) => o.expires > now);
  }

  /** `path` with the live overrides for this source, site name and domain laid over it. */
  apply(path: EgressPathConfig, source: string, site: string, domain: string): EgressPathConfig {
    if (this.#overrides.size === 0) return path;
    const now = this.#now();
    let out: Record<string, unknown> | undefined;
    // Domain overrides first, then the (source, site) ones, which are narrower.
    for (const pass of ['domain', 'path'] as const) {
      for (const o of this.#overrides.values()) {
        if (o.expires <= now) continue;
        const hit =
          'domain' in o.scope
            ? pass === 'domain' && o.scope.domain === domain
            : pass === 'path' && o.scope.source === source && o.scope.site === site;
        if (hit) {
          out ??= { ...path };
          out[o.name] = o.value;
        }
      }
    }
    return out ? (Object.freeze(out) as unknown as EgressPathConfig) : path;
  }

  stop(): void {
    clearTimeout(this.#timer);
  }

  // One timer, for the next override to lapse.
  #arm(): void {
    clearTimeout(this.#timer);
    let next = Number.POSITIVE_INFINITY;
    for (const o of this.#overrides.values()) next = Math.min(next, o.expires);
    if (next === Number.POSITIVE_INFINITY) return;
    this.#timer = setTimeout(
      () => {
        const now = this.#now();
        let lapsed = false;
        for (const [id, o] of this.#overrides)
          if (o.expires <= now) {
            this.#overrides.delete(id);
            lapsed = true;
          }
        this.#arm();
        if (lapsed) this.#changed();
      },
      Math.max(0, next - this.#now()),
    );
    this.#timer.unref();
  }
}

function sameScope(a: OverrideScope, b: OverrideScope): boolean {
  if ('domain' in a || 'domain' in b)
    return 'domain' in a && 'domain' in b && a.domain === b.domain;
  return a.source === b.source && a.site === b.site;
}
