import { randomUUID } from 'node:crypto';
import { parseQueueName } from '@sterna/core';
import type { AdminRule, QueueSelector } from './admin-types.js';

/** A live rule: what it selects, why, and when it lapses (epoch ms). */
export interface Rule extends QueueSelector {
  readonly id: string;
  readonly reason: string;
  readonly expires: number;
  readonly suppressLogging: boolean;
  /**
   * The shared record (redis, named by its epoch) this lever was written to or read from;
   * unset while only this node knows it.
   */
  readonly shared?: string | undefined;
}

/** One lever as the fleet shares it: an id every node lists, and an absolute end (epoch ms). */
export interface SharedLever {
  readonly id: string;
  readonly expires: number;
  readonly shared?: string | undefined;
}

/** Told of levers made or cancelled on this node (never of those applied from the fleet). */
export interface LeverListener<T extends SharedLever> {
  added(lever: T): void;
  cancelled(id: string): void;
}

/**
 * One kind of lever (suspensions, bounce rules, ready-queue suspensions, path overrides) as the
 * fleet's shared state sees it: what this node holds, and the way to apply what other nodes
 * made or cancelled with the same effects as a local change, minus telling the listener again.
 */
export interface SharedLevers<T extends SharedLever> {
  /** Told of local changes, to share them (unset: nothing is shared). */
  listener: LeverListener<T> | undefined;
  /** The live levers held. */
  rules(): T[];
  /** Holds a lever made elsewhere (or replaces the one with its id), as given. */
  applyShared(lever: T): void;
  /** Drops a lever cancelled elsewhere; true when it was held. */
  dropShared(id: string): boolean;
  /** Marks a held lever as written to (or found in) the shared record of this epoch. */
  markShared(id: string, epoch: string): void;
}

/**
 * {@link SharedLevers.markShared} for levers kept in a map by id: records `epoch` on the lever
 * `id`; true when that changed it (the caller then saves its state).
 */
export function markSharedIn<T extends SharedLever>(
  levers: Map<string, T>,
  id: string,
  epoch: string,
): boolean {
  const lever = levers.get(id);
  if (!lever || lever.shared === epoch) return false;
  levers.set(id, { ...lever, shared: epoch });
  return true;
}

/** True when a scheduled queue name matches every field the selector sets. */
export function selects(selector: QueueSelector, queue: string): boolean {
  if (
    selector.queue_names &&
    selector.queue_names.length > 0 &&
    !selector.queue_names.includes(queue)
  )
    return false;
  const parts = parseQueueName(queue);
  if (selector.domain !== undefined && selector.domain.toLowerCase() !== parts.domain.toLowerCase())
    return false;
  if (selector.routing_domain !== undefined && selector.routing_domain !== parts.routingDomain)
    return false;
  if (selector.tenant !== undefined && selector.tenant !== parts.tenant) return false;
  if (selector.campaign !== undefined && selector.campaign !== parts.campaign) return false;
  return true;
}

/** What a rule set does beyond holding a rule made or cancelled on another node. */
export interface RuleEffects {
  /** A rule from the fleet is now held (bounce rules bounce what this node holds). */
  readonly applied?: (rule: Rule) => void;
  /** A rule was cancelled on another node (suspensions release what they held). */
  readonly dropped?: (id: string) => void;
}

/** Admin rules (bounces or suspensions) that lapse after their duration. */
export class RuleSet implements SharedLevers<Rule> {
  readonly #rules = new Map<string, Rule>();
  readonly #now: () => number;
  readonly #changed: () => void;
  readonly #effects: RuleEffects;
  listener: LeverListener<Rule> | undefined;

  /** `changed` is told of every rule added or cancelled (to persist the set). */
  constructor(now: () => number, changed: () => void = () => {}, effects: RuleEffects = {}) {
    this.#now = now;
    this.#changed = changed;
    this.#effects = effects;
  }

  /** True when no rule is held (the per-message check can be skipped). */
  get empty(): boolean {
    return this.#rules.size === 0;
  }

  /** The live rules as stored, for persistence. */
  rules(): Rule[] {
    const now = this.#now();
    return [...this.#rules.values()].filter((r) => r.expires > now);
  }

  /** Puts back a rule kept from an earlier run (ignored once lapsed). */
  restore(rule: Rule): void {
    if (rule.expires > this.#now()) this.#rules.set(rule.id, rule);
  }

  add(
    selector: QueueSelector,
    reason: string,
    durationSeconds: number,
    suppressLogging = false,
  ): Rule {
    const rule: Rule = {
      ...selector,
      id: randomUUID(),
      reason,
      expires: this.#now() + durationSeconds * 1000,
      suppressLogging,
    };
    this.#rules.set(rule.id, rule);
    this.#changed();
    this.listener?.added(rule);
    return rule;
  }

  applyShared(rule: Rule): void {
    if (rule.expires <= this.#now()) return;
    const fresh = !this.#rules.has(rule.id);
    this.#rules.set(rule.id, rule);
    this.#changed();
    if (fresh) this.#effects.applied?.(rule);
  }

  dropShared(id: string): boolean {
    if (!this.#rules.delete(id)) return false;
    this.#changed();
    this.#effects.dropped?.(id);
    return true;
  }

  markShared(id: string, epoch: string): void {
    if (markSharedIn(this.#rules, id, epoch)) this.#changed();
  }

  /** The first live rule matching the queue. */
  match(queue: string): Rule | undefined {
    if (this.#rules.size === 0) return undefined;
    const now = this.#now();
    for (const [id, rule] of this.#rules) {
      if (rule.expires <= now) {
        this.#rules.delete(id);
        continue;
      }
      if (selects(rule, queue)) return rule;
    }
    return undefined;
  }

  list(): AdminRule[] {
    const now = this.#now();
    return [...this.#rules.values()]
      .filter((r) => r.expires > now)
      .map(({ expires, suppressLogging: _, shared: __, ...rest }) => ({
        ...rest,
        duration: Math.round((expires - now) / 1000),
      }));
  }

  cancel(id: string): boolean {
    const had = this.#rules.delete(id);
    if (had) {
      this.#changed();
      this.listener?.cancelled(id);
    }
    return had;
  }
}
