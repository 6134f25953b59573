/** A pool entry: a source name and its weight (KumoMTA's `make_egress_pool` entries). */
export interface WeightedEntry {
  readonly name: string;
  readonly weight: number;
}

/** At most this many steps are skipped to start a rotation at a random place. */
const MAX_START_SKIP = 4096;

/**
 * Weighted round robin over a pool's entries, for one scheduled queue: each pick raises every
 * entry's credit by its weight and takes the entry with the most credit, which then pays the
 * total back. Over any run of `total weight` picks each entry is taken exactly `weight` times, and
 * interleaved (3:1 gives a a b a, not a a a b); equal weights give plain round robin. Entries of
 * weight 0 are never taken.
 *
 * The rotation starts at a random step, so scheduled queues sharing a pool do not all begin on the
 * same source: across queues the shares hold in probability, which is what KumoMTA means by its
 * weighted round robin being probabilistic and scoped per scheduled queue.
 */
export class SourceRotation {
  readonly #entries: readonly WeightedEntry[];
  readonly #credit: number[];
  readonly #total: number;

  /** @param random the random source for the starting step; `[0, 1)` like `Math.random`. */
  constructor(entries: readonly WeightedEntry[], random: () => number = Math.random) {
    this.#entries = entries.filter((e) => e.weight > 0);
    this.#credit = this.#entries.map(() => 0);
    this.#total = this.#entries.reduce((sum, e) => sum + e.weight, 0);
    const divisor = this.#entries.reduce((g, e) => gcd(g, e.weight), 0);
    const period = divisor > 0 ? this.#total / divisor : 0;
    const skip = Math.floor(random() * Math.min(period, MAX_START_SKIP));
    for (let i = 0; i < skip; i++) this.next();
  }

  /** True when no entry has a weight above zero (nothing can be picked). */
  get empty(): boolean {
    return this.#entries.length === 0;
  }

  /** The next entry, or undefined when the pool has none with a weight. */
  next(): WeightedEntry | undefined {
    let best = -1;
    for (let i = 0; i < this.#entries.length; i++) {
      this.#credit[i]! += this.#entries[i]!.weight;
      if (best < 0 || this.#credit[i]! > this.#credit[best]!) best = i;
    }
    if (best < 0) return undefined;
    this.#credit[best]! -= this.#total;
    return this.#entries[best];
  }
}

function gcd(a: number, b: number): number {
  let x = Math.abs(a);
  let y = Math.abs(b);
  while (y > 0) [x, y] = [y, x % y];
  return x;
}
