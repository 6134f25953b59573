import type {
  QueueView,
  ReadyQueueView,
  ResolvedEgressPath,
  ViewedMessage,
} from './admin-types.js';
import type { RateGates } from './rate-gates.js';
import type { ReadyQueue } from './ready-queue.js';
import { describeSuspension, type ReadySuspensionRule } from './shaping.js';
import type { TimerHeap } from './timer-heap.js';
import type { QueuedMessage } from './types.js';

/** What the view reads: the engine's own structures, never copied until asked. */
export interface EngineParts {
  readonly heap: TimerHeap<QueuedMessage>;
  readonly gates: RateGates;
  ready(): Iterable<ReadyQueue>;
  suspension(name: string): ReadySuspensionRule | undefined;
  resolve(domain: string, source: string): Promise<ResolvedEgressPath>;
  loaded(queue: string): { readonly config: object; readonly at: number } | undefined;
  readonly now: () => number;
}

const viewed = (m: QueuedMessage): ViewedMessage => ({
  id: m.id,
  sender: m.sender,
  recipients: [...m.recipients],
  meta: { ...m.meta },
  due: m.due,
  num_attempts: m.num_attempts,
  queue: m.queue,
});

/**
 * The queues as the inspection endpoints see them (`inspect-sched-q`, `inspect-ready-q`,
 * `ready-q-states`, `resolve-egress-path`): built on demand from the engine's structures.
 * A scheduled queue's messages are those waiting for their time and those its rate holds back.
 */
export class EngineView implements QueueView {
  readonly #parts: EngineParts;

  constructor(parts: EngineParts) {
    this.#parts = parts;
  }

  scheduledQueues(): ReadonlyMap<string, number> {
    const counts = new Map<string, number>();
    for (const m of this.#parts.heap.values()) counts.set(m.queue, (counts.get(m.queue) ?? 0) + 1);
    for (const [queue, n] of this.#parts.gates.counts())
      counts.set(queue, (counts.get(queue) ?? 0) + n);
    return counts;
  }

  scheduledQueueInfo(queue: string) {
    const loaded = this.#parts.loaded(queue);
    return loaded
      ? { queue_config: { ...loaded.config } as Record<string, unknown>, last_changed: loaded.at }
      : undefined;
  }

  scheduledMessages(queue: string, limit: number): ViewedMessage[] {
    const found: QueuedMessage[] = [];
    for (const m of this.#parts.heap.values()) if (m.queue === queue) found.push(m);
    found.push(...this.#parts.gates.messages(queue));
    return found
      .sort((a, b) => a.due - b.due)
      .slice(0, limit)
      .map(viewed);
  }

  readyQueues(): readonly ReadyQueueView[] {
    const now = this.#parts.now();
    return [...this.#parts.ready()].map((q): ReadyQueueView => {
      const rule = this.#parts.suspension(q.spec.name);
      return {
        name: q.spec.name,
        site: q.spec.site.name,
        protocol: q.spec.site.service,
        egress_pool: q.spec.egress_pool,
        egress_source: q.spec.egress_source,
        path: q.path,
        ready_count: q.size,
        connection_count: q.connections,
        messages: (limit) =>
          q
            .items()
            .slice(0, limit)
            .map((item) => viewed(item.message)),
        suspended: rule ? describeSuspension(rule, now) : undefined,
        connection_limited: q.connectionLimited,
        connection_rate_throttled: q.connectionRateThrottled,
      };
    });
  }

  resolveEgressPath(domain: string, source: string): Promise<ResolvedEgressPath> {
    return this.#parts.resolve(domain, source);
  }
}
