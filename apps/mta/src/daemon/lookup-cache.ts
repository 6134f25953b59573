/**
 * What the daemon's resolver keeps between look-ups: one query in flight per name and type
 * (a burst of messages for a new domain asks DNS once, not once per message), a cap on the MX
 * queries in flight at once, answers kept for as long as DNS said they live, and NXDOMAIN kept
 * for the negative-cache time. KumoMTA's `kumo.dns.set_mx_timeout`,
 * `set_mx_negative_cache_ttl` and `set_mx_concurrency_limit` tune it, with KumoMTA's defaults.
 */

/** The MX look-up tuning, in seconds (durations) and queries (the limit). */
export interface MxTuning {
  /** The whole MX look-up, waiting for a permit included. @default 5 */
  readonly timeout: number;
  /** How long an NXDOMAIN answer is kept. @default 300 */
  readonly negativeCacheTtl: number;
  /** MX queries in flight at once. @default 128 */
  readonly concurrencyLimit: number;
}

/** KumoMTA's defaults (`kumo.dns.set_mx_*`). */
export const MX_TUNING_DEFAULTS: MxTuning = {
  timeout: 5,
  negativeCacheTtl: 300,
  concurrencyLimit: 128,
};

/** An answer kept until `expires` (epoch ms): a value, or the error to raise again. */
type Kept<T> = { readonly expires: number } & ({ readonly value: T } | { readonly error: unknown });

/**
 * A cache of look-ups by key: concurrent asks share one query, answers are kept until the
 * expiry the query gave them, expired entries are swept as new ones come in (so a stream of
 * names seen once does not grow it without bound).
 */
export class LookupCache<T> {
  readonly #kept = new Map<string, Kept<T>>();
  readonly #inFlight = new Map<string, Promise<T>>();
  readonly #now: () => number;
  #insertsSinceSweep = 0;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /**
   * The answer for `key`: kept, in flight, or from `query`, which says how long its answer (or
   * error) may be kept: `keep.value(value)` / `keep.error(error)` give milliseconds, 0 to not keep it.
   */
  get(
    key: string,
    query: () => Promise<T>,
    keep: { value: (value: T) => number; error: (error: unknown) => number },
  ): Promise<T> {
    const kept = this.#kept.get(key);
    if (kept) {
      if (kept.expires > this.#now())
        return 'value' in kept ? Promise.resolve(kept.value) : Promise.reject(kept.error);
      this.#kept.delete(key);
    }
    const pending = this.#inFlight.get(key);
    if (pending) return pending;
    const started = query().then(
      (value) => {
        this.#settle(key, started, { value }, keep.value(value));
        return value;
      },
      (error: unknown) => {
        this.#settle(key, started, { error }, keep.error(error));
        throw error;
      },
    );
    this.#inFlight.set(key, started);
    return started;
  }

  /** Forgets every answer (the resolver now asks other servers). */
  clear(): void {
    this.#kept.clear();
    this.#inFlight.clear();
  }

  #settle(
    key: string,
    query: Promise<T>,
    answer: { value: T } | { error: unknown },
    ms: number,
  ): void {
    // A query started before clear() answers its own callers, and is not kept.
    if (this.#inFlight.get(key) !== query) return;
    this.#inFlight.delete(key);
    if (!(ms > 0)) return;
    this.#kept.set(key, { expires: this.#now() + ms, ...answer });
    if (++this.#insertsSinceSweep >= 1024) this.#sweep();
  }

  #sweep(): void {
    this.#insertsSinceSweep = 0;
    const now = this.#now();
    for (const [key, kept] of this.#kept) if (kept.expires <= now) this.#kept.delete(key);
  }
}

/** A counting semaphore: at most `limit` holders, the rest wait in order. */
export class Permits {
  #limit: number;
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.#limit = limit;
    this.#free = limit;
  }

  /** Resizes the limit; waiters are let in as room appears. */
  resize(limit: number): void {
    this.#free += limit - this.#limit;
    this.#limit = limit;
    this.#wake();
  }

  /** Gives back a permit held. */
  release(): void {
    this.#free++;
    this.#wake();
  }

  /** Removes a waiter that gave up before getting a permit; false when it already got one. */
  abandon(waiter: () => void): boolean {
    const at = this.#waiting.indexOf(waiter);
    if (at < 0) return false;
    this.#waiting.splice(at, 1);
    return true;
  }

  /** Asks for a permit: `ready` resolves once it is held; `waiter` is the handle to {@link abandon}. */
  wait(): { readonly ready: Promise<void>; readonly waiter: () => void } {
    let waiter: () => void = () => {};
    if (this.#free > 0) {
      this.#free--;
      return { ready: Promise.resolve(), waiter };
    }
    const ready = new Promise<void>((resolve) => {
      waiter = resolve;
      this.#waiting.push(resolve);
    });
    return { ready, waiter };
  }

  #wake(): void {
    while (this.#free > 0 && this.#waiting.length > 0) {
      this.#free--;
      this.#waiting.shift()!();
    }
  }
}
