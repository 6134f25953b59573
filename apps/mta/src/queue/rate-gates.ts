import type { ThrottleResult } from '@sterna/core/engine';
import { SHARED_CHECK_RETRY_MS, type Shaping } from './shaping.js';
import type { QueuedMessage } from './types.js';

interface Gate {
  readonly queue: string;
  rate: string;
  readonly items: QueuedMessage[];
  head: number;
  timer: NodeJS.Timeout | undefined;
  /** Epoch ms the gate opens next. */
  due: number;
}

/**
 * Scheduled queues held back by their `max_message_rate` (KumoMTA's queue-level throttle on the
 * move from the scheduled to the ready queue). A message over the rate waits in its queue's
 * gate, in arrival order; the gate opens when the throttle next allows one and lets through as
 * many as the throttle allows, then waits again. One timer per throttled queue, not one
 * reschedule per message: a deep queue behind a slow rate costs no extra work per message.
 */
export class RateGates {
  readonly #shaping: Shaping;
  readonly #now: () => number;
  readonly #release: (message: QueuedMessage) => void;
  readonly #gates = new Map<string, Gate>();

  constructor(shaping: Shaping, now: () => number, release: (message: QueuedMessage) => void) {
    this.#shaping = shaping;
    this.#now = now;
    this.#release = release;
  }

  /**
   * True when `message` may move on now (counted against the rate); false when it was parked
   * behind its queue's gate.
   */
  async admit(message: QueuedMessage, rate: string): Promise<boolean> {
    const queue = message.queue;
    let gate = this.#gates.get(queue);
    if (!gate) {
      const result = await this.#check(queue, rate);
      if (!result.throttled) return true;
      gate = this.#gates.get(queue);
      if (!gate) {
        gate = { queue, rate, items: [], head: 0, timer: undefined, due: 0 };
        this.#gates.set(queue, gate);
        this.#arm(gate, result.retryAfter ?? 1);
      }
    }
    gate.rate = rate;
    gate.items.push(message);
    return false;
  }

  /** Roughly when the last message parked in `queue`'s gate will move on (epoch ms). */
  dueOf(queue: string): number {
    const gate = this.#gates.get(queue);
    if (!gate) return this.#now();
    const spec = this.#shaping.spec(gate.rate);
    const waiting = gate.items.length - gate.head;
    return gate.due + Math.max(0, waiting - 1) * ((spec.period * 1000) / spec.limit);
  }

  /** Parked messages per queue. */
  counts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const gate of this.#gates.values()) counts.set(gate.queue, gate.items.length - gate.head);
    return counts;
  }

  /** The parked messages of one queue (or all), in order. */
  *messages(queue?: string): Iterable<QueuedMessage> {
    for (const gate of this.#gates.values()) {
      if (queue !== undefined && gate.queue !== queue) continue;
      for (let i = gate.head; i < gate.items.length; i++) yield gate.items[i]!;
    }
  }

  /** Takes parked messages out (admin bounce, rebind). */
  removeWhere(pick: (message: QueuedMessage) => boolean): QueuedMessage[] {
    const taken: QueuedMessage[] = [];
    for (const gate of this.#gates.values()) {
      const waiting = gate.items.slice(gate.head);
      const kept = waiting.filter((m) => {
        if (!pick(m)) return true;
        taken.push(m);
        return false;
      });
      if (kept.length !== waiting.length) {
        gate.items.length = 0;
        gate.items.push(...kept);
        gate.head = 0;
      }
    }
    return taken;
  }

  stop(): void {
    for (const gate of this.#gates.values()) clearTimeout(gate.timer);
    this.#gates.clear();
  }

  // A check that fails is a refusal with a short wait: never a message let through unchecked,
  // never an error that would drop it from its queue.
  async #check(
    queue: string,
    rate: string,
  ): Promise<Pick<ThrottleResult, 'throttled' | 'retryAfter'>> {
    try {
      return await this.#shaping.check(`queue-rate:${queue}`, rate);
    } catch {
      return { throttled: true, retryAfter: SHARED_CHECK_RETRY_MS / 1000 };
    }
  }

  #arm(gate: Gate, seconds: number): void {
    const ms = Math.max(1, Math.ceil(seconds * 1000));
    gate.due = this.#now() + ms;
    clearTimeout(gate.timer);
    gate.timer = setTimeout(() => void this.#open(gate), ms);
    gate.timer.unref();
  }

  // Lets messages through while the throttle allows, then waits for the next slot.
  async #open(gate: Gate): Promise<void> {
    gate.timer = undefined;
    while (gate.head < gate.items.length) {
      const result = await this.#check(gate.queue, gate.rate);
      if (result.throttled) {
        this.#arm(gate, result.retryAfter ?? 1);
        return;
      }
      const message = gate.items[gate.head++]!;
      if (gate.head > 1024 && gate.head * 2 > gate.items.length) {
        gate.items.splice(0, gate.head);
        gate.head = 0;
      }
      this.#release(message);
    }
    if (this.#gates.get(gate.queue) === gate) this.#gates.delete(gate.queue);
  }
}
