// A threshold trigger's count of matches in a sliding window (`Threshold = '10/hr'`: act once
// ten matches fell within an hour), exact for small thresholds, in slices for large ones.

/** Thresholds up to this count keep each match's time; larger ones count in slices. */
const EXACT_LIMIT = 256;
const SLICES = 64;

/** Matches within a sliding window, for a threshold. */
export interface Window {
  /** Counts a match at `now`; true when `limit` matches fell within the last `periodMs`. */
  hit(now: number, limit: number, periodMs: number): boolean;
}

/** The times of the last `limit` matches, in a ring. */
class ExactWindow implements Window {
  readonly #times: number[] = [];
  #next = 0;

  hit(now: number, limit: number, periodMs: number): boolean {
    if (this.#times.length < limit) this.#times.push(now);
    else {
      this.#times[this.#next] = now;
      this.#next = (this.#next + 1) % limit;
    }
    // #next is the oldest of a full ring.
    return this.#times.length >= limit && now - this.#times[this.#next]! < periodMs;
  }
}

/** Counts per slice of the period: exact to a 64th of it, for large thresholds. */
class SlicedWindow implements Window {
  readonly #counts = new Uint32Array(SLICES);
  readonly #slices = new Float64Array(SLICES).fill(-1);

  hit(now: number, limit: number, periodMs: number): boolean {
    const slice = Math.floor(now / (periodMs / SLICES));
    const at = slice % SLICES;
    if (this.#slices[at] !== slice) {
      this.#slices[at] = slice;
      this.#counts[at] = 0;
    }
    this.#counts[at]!++;
    let total = 0;
    for (let i = 0; i < SLICES; i++)
      if (this.#slices[i]! > slice - SLICES) total += this.#counts[i]!;
    return total >= limit;
  }
}

/** The window for a threshold of `limit` matches. */
export function thresholdWindow(limit: number): Window {
  return limit <= EXACT_LIMIT ? new ExactWindow() : new SlicedWindow();
}
