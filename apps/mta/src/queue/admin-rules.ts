import { randomUUID } from 'node:crypto';
import { parseQueueName } from '@sterna/core';
import type { AdminRule, QueueSelector } from './admin-types.js';

/** A live rule: what it selects, why, and when it lapses (epoch ms). */
export interface Rule extends QueueSelector {
  readonly id: string;
  readonly reason: string;
  readonly expires: number;
  readonly suppressLogging: boolean;
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

/** Admin rules (bounces or suspensions) that lapse after their duration. */
export class RuleSet {
  readonly #rules = new Map<string, Rule>();
  readonly #now: () => number;
  readonly #changed: () => void;

  /** `changed` is told of every rule added or cancelled (to persist the set). */
  constructor(now: () => number, changed: () => void = () => {}) {
    this.#now = now;
    this.#changed = changed;
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
    return rule;
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
      .map(({ expires, suppressLogging: _, ...rest }) => ({
        ...rest,
        duration: Math.round((expires - now) / 1000),
      }));
  }

  cancel(id: string): boolean {
    const had = this.#rules.delete(id);
    if (had) this.#changed();
    return had;
  }
}
