/**
 * Throttles as KumoMTA writes and runs them: a spec `[local:]quantity/period[,max_burst=burst]`
 * (`'100/h'`, `'1,000/hr'`, `'20/30min'`, `'60/minute,max_burst=1'`) checked with the Generic
 * Cell Rate Algorithm, so a rate is smooth rather than bucketed per period; and connection
 * limits, a count of leases per name. Both sit behind small store interfaces: this process's
 * memory here, a fleet's shared store elsewhere.
 */

/** A parsed throttle spec. */
export interface ThrottleSpec {
  /** The spec as written. */
  readonly text: string;
  /** Operations permitted per period. */
  readonly limit: number;
  /** The period, in seconds. */
  readonly period: number;
  /** How many may go back to back; the limit when not given. */
  readonly maxBurst: number;
  /** `local:`: always this node's own throttle, even when throttles are shared. */
  readonly local: boolean;
}

// KumoMTA's period names, in seconds.
const PERIODS: Readonly<Record<string, number>> = {
  d: 86_400,
  day: 86_400,
  days: 86_400,
  h: 3600,
  hr: 3600,
  hour: 3600,
  hours: 3600,
  m: 60,
  min: 60,
  mins: 60,
  minute: 60,
  minutes: 60,
  s: 1,
  sec: 1,
  secs: 1,
  second: 1,
  seconds: 1,
};

const SPEC =
  /^(local:)?\s*([0-9][0-9,_]*)\s*(?:\/|\s+per\s+)\s*([0-9]*)\s*([a-z]+)\s*(?:,\s*max_burst\s*=\s*([0-9][0-9,_]*))?$/i;

const number = (digits: string): number => Number(digits.replace(/[,_]/g, ''));

/** Why a spec is refused, or undefined when it parses. */
export function throttleSpecProblem(text: string): string | undefined {
  try {
    parseThrottleSpec(text);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * Parses KumoMTA's throttle syntax.
 *
 * @throws Error naming the spec and the expected form.
 */
export function parseThrottleSpec(text: string): ThrottleSpec {
  const match = SPEC.exec(text.trim());
  const period = match ? PERIODS[match[4]!.toLowerCase()] : undefined;
  const multiple = match?.[3] ? Number(match[3]) : 1;
  const limit = match ? number(match[2]!) : 0;
  const maxBurst = match?.[5] !== undefined ? number(match[5]) : limit;
  if (!match || period === undefined || multiple <= 0 || limit <= 0 || maxBurst <= 0) {
    throw new Error(
      `invalid throttle '${text}': expected [local:]quantity/period[,max_burst=N] with a quantity above zero and a period of s, m, h or d (e.g. '100/h', '20/30min', '10/s,max_burst=1')`,
    );
  }
  return { text, limit, period: period * multiple, maxBurst, local: match[1] !== undefined };
}

/** What a throttle check answers: KumoMTA's `throttle:throttle()` table, times in seconds. */
export interface ThrottleResult {
  /** The operation must wait. */
  readonly throttled: boolean;
  /** The spec's limit. */
  readonly limit: number;
  /** Operations that may still go now. */
  readonly remaining: number;
  /** Seconds until the throttle is back at full capacity. */
  readonly resetAfter: number;
  /** Seconds until the operation may go; undefined when it was allowed. */
  readonly retryAfter: number | undefined;
}

/** Where throttle state lives. `check` counts the operation when it is allowed. */
export interface ThrottleStore {
  check(
    key: string,
    spec: ThrottleSpec,
    quantity?: number,
  ): ThrottleResult | Promise<ThrottleResult>;
}

/**
 * One step of GCRA: `tat` is the stored theoretical arrival time (ms, or undefined for a fresh
 * throttle). Returns the verdict and the new `tat` to store when allowed.
 */
export function gcra(
  tat: number | undefined,
  spec: ThrottleSpec,
  now: number,
  quantity = 1,
): { result: ThrottleResult; tat: number | undefined } {
  const interval = (spec.period * 1000) / spec.limit;
  const tolerance = interval * spec.maxBurst;
  const start = tat === undefined || tat < now ? now : tat;
  const next = start + interval * quantity;
  const allowAt = next - tolerance;
  if (allowAt > now) {
    const remaining = Math.max(0, Math.floor((now - (start - tolerance)) / interval));
    return {
      result: {
        throttled: true,
        limit: spec.limit,
        remaining,
        resetAfter: (start - now) / 1000,
        retryAfter: (allowAt - now) / 1000,
      },
      tat: undefined,
    };
  }
  return {
    result: {
      throttled: false,
      limit: spec.limit,
      remaining: Math.max(0, Math.floor((now - allowAt) / interval)),
      resetAfter: (next - now) / 1000,
      retryAfter: undefined,
    },
    tat: next,
  };
}

// At most this long between two sweeps of passed keys, however slowly the map grows.
const SWEEP_INTERVAL_MS = 10_000;

/**
 * This process's throttles: one stored time per key. A key whose time has passed holds nothing
 * a fresh key would not, so such keys are swept out as the map grows (and every ten seconds): memory follows the keys
 * in use, not every key ever seen.
 */
export class LocalThrottles implements ThrottleStore {
  readonly #tats = new Map<string, number>();
  readonly #now: () => number;
  #sweepAt = 1024;
  #nextSweep = 0;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Keys held (for tests and memory figures). */
  get size(): number {
    return this.#tats.size;
  }

  check(key: string, spec: ThrottleSpec, quantity = 1): ThrottleResult {
    const now = this.#now();
    const { result, tat } = gcra(this.#tats.get(key), spec, now, quantity);
    if (tat !== undefined) {
      this.#tats.set(key, tat);
      if (this.#tats.size >= this.#sweepAt || (now >= this.#nextSweep && this.#tats.size > 64))
        this.#sweep(now);
    }
    return result;
  }

  #sweep(now: number): void {
    for (const [key, tat] of this.#tats) if (tat <= now) this.#tats.delete(key);
    this.#sweepAt = Math.max(1024, this.#tats.size * 2);
    this.#nextSweep = now + SWEEP_INTERVAL_MS;
  }
}

/** A connection slot taken from a named limit; released once. */
export interface Lease {
  release(): void;
}

/**
 * The prefix of a connection limit's name that keeps it in this process when limits are shared
 * with other nodes (`connection_limit = 'local:20'` becomes a limit named `local:…`).
 */
export const LOCAL_LIMIT_PREFIX = 'local:';

/** Where connection limits are counted. */
export interface ConnectionLimiter {
  /** A lease on `name` when fewer than `limit` are held, else undefined. */
  acquire(name: string, limit: number): Lease | undefined | Promise<Lease | undefined>;
  /**
   * Waits, in line, for a lease on `name` to be released: each release offers itself to the
   * first waiter, whose `wake` says whether it will try for it (false passes it to the next).
   * Returns a function that leaves the line.
   */
  whenReleased(name: string, wake: () => boolean): () => void;
  /**
   * True when every release is seen by {@link whenReleased} (this process's own limits); a
   * store shared with other processes is not told of theirs, so its waiters also look again
   * from time to time.
   */
  readonly seesEveryRelease: boolean;
}

/**
 * Lines of waiters per limit name, for a {@link ConnectionLimiter}'s `whenReleased`: a freed
 * lease is offered to the first waiter of its name, whose `wake` says whether it takes it
 * (false passes it on to the next). A name's line is dropped when it empties.
 */
export class WaitingLines {
  readonly #lines = new Map<string, Set<() => boolean>>();

  /** The names someone waits on. */
  names(): string[] {
    return [...this.#lines.keys()];
  }

  /** Joins the line for `name`; returns a function that leaves it. */
  join(name: string, wake: () => boolean): () => void {
    let line = this.#lines.get(name);
    if (!line) {
      line = new Set();
      this.#lines.set(name, line);
    }
    line.add(wake);
    return () => {
      const current = this.#lines.get(name);
      current?.delete(wake);
      if (current?.size === 0) this.#lines.delete(name);
    };
  }

  /** One lease of `name` was freed: the first waiter that will try for it is woken. */
  offer(name: string): void {
    const line = this.#lines.get(name);
    if (!line) return;
    for (const wake of line) {
      line.delete(wake);
      if (wake()) break;
    }
    if (line.size === 0) this.#lines.delete(name);
  }
}

/**
 * This process's connection limits: a count per name, dropped when it reaches zero, and a line
 * of waiters per name, woken one per released lease (thousands of queues waiting on one shared
 * limit cost nothing until a lease is free, and then one wake-up).
 */
export class LocalConnectionLimits implements ConnectionLimiter {
  readonly seesEveryRelease = true;
  readonly #held = new Map<string, number>();
  readonly #waiting = new WaitingLines();

  /** Leases held on `name`. */
  held(name: string): number {
    return this.#held.get(name) ?? 0;
  }

  acquire(name: string, limit: number): Lease | undefined {
    const held = this.#held.get(name) ?? 0;
    if (held >= limit) return undefined;
    this.#held.set(name, held + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const now = (this.#held.get(name) ?? 1) - 1;
        if (now <= 0) this.#held.delete(name);
        else this.#held.set(name, now);
        this.#waiting.offer(name);
      },
    };
  }

  whenReleased(name: string, wake: () => boolean): () => void {
    return this.#waiting.join(name, wake);
  }
}
