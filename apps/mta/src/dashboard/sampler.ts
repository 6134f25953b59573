import type { RateSample, Totals } from './wire.js';

/** How many one-second samples are kept: 15 minutes. */
export const HISTORY_SAMPLES = 900;

/** The engine's cumulative counters, as the sampler reads them. */
export interface CumulativeCounters {
  readonly received: number;
  readonly delivered: number;
  readonly transientFailures: number;
  readonly bounced: number;
  readonly expired: number;
}

/** The counters as the dashboard's totals. */
export function totalsOf(counters: CumulativeCounters): Totals {
  return {
    received: counters.received,
    delivered: counters.delivered,
    transient: counters.transientFailures,
    bounced: counters.bounced,
    expired: counters.expired,
  };
}

/**
 * The per-second rates of the overview's chart: {@link RateSampler.sample} reads the engine's
 * cumulative counters (five numbers, nothing per message) and keeps the difference from the
 * last reading in a ring of {@link HISTORY_SAMPLES} samples.
 */
export class RateSampler {
  readonly #ring: (RateSample | undefined)[];
  readonly #read: () => CumulativeCounters;
  #next = 0;
  #size = 0;
  #last: Totals;

  constructor(read: () => CumulativeCounters, capacity = HISTORY_SAMPLES) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`sampler capacity: ${capacity} is not a positive whole number`);
    this.#read = read;
    this.#ring = new Array(capacity);
    this.#last = totalsOf(read());
  }

  /** Records the second that ended at `t` and returns its sample. */
  sample(t: number): RateSample {
    const now = totalsOf(this.#read());
    const last = this.#last;
    this.#last = now;
    // A counter never goes down; if one did (a restart of the engine in tests), count from zero.
    const d = (a: number, b: number) => Math.max(0, a - b);
    const sample: RateSample = {
      t,
      received: d(now.received, last.received),
      delivered: d(now.delivered, last.delivered),
      transient: d(now.transient, last.transient),
      bounced: d(now.bounced, last.bounced) + d(now.expired, last.expired),
    };
    this.#ring[this.#next] = sample;
    this.#next = (this.#next + 1) % this.#ring.length;
    this.#size = Math.min(this.#size + 1, this.#ring.length);
    return sample;
  }

  /** The kept samples, oldest first. */
  history(): RateSample[] {
    const out: RateSample[] = [];
    const cap = this.#ring.length;
    const start = (this.#next - this.#size + cap) % cap;
    for (let i = 0; i < this.#size; i++) out.push(this.#ring[(start + i) % cap]!);
    return out;
  }
}
