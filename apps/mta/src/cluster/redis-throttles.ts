import {
  gcra,
  type ThrottleResult,
  type ThrottleSpec,
  type ThrottleStore,
} from '@sterna/core/engine';
import type { RedisClient } from './redis-connect.js';
import { redisProblem } from './redis-connect.js';

/**
 * A shared throttle or connection limit could not be checked (redis unreachable or failing).
 * Callers treat it as "wait and look again", never as a pass. Its message names the store, the
 * throttle or limit, the server and the cause; through Lua it arrives as that text, which
 * starts `redis throttles:` or `redis connection limits:`.
 */
export class SharedStoreError extends Error {
  override readonly name = 'SharedStoreError';
}

/**
 * True when `error` is a shared check that could not be made: a {@link SharedStoreError}, or
 * its text as it comes back out of a Lua event (`throttle:throttle()` raised it there).
 */
export function isSharedStoreOutage(error: unknown): boolean {
  if (error instanceof SharedStoreError) return true;
  const text = error instanceof Error ? error.message : String(error);
  return /redis (throttles|connection limits): /.test(text);
}

/** Where every fleet-wide key of Sterna's lives in redis. */
export const FLEET_KEY_PREFIX = 'sterna:';

/**
 * One GCRA step, atomically, on the redis server's clock (the nodes' clocks may differ; the
 * server's is the one they share). KEYS[1] holds the theoretical arrival time (ms) and expires
 * at it: a lapsed key and a missing one mean the same, a fresh throttle. ARGV: period (s),
 * limit, max burst, quantity. The arithmetic is core's `gcra`, operation for operation in
 * doubles, so both decide alike; the answer carries the clock reading and the stored time it
 * decided from (17 significant digits: exact), from which the caller builds the full result
 * with `gcra` itself. Returns { allowed (1|0), now, tat or '' }.
 */
const GCRA_SCRIPT = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local period, limit, burst, quantity =
  tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local interval = (period * 1000) / limit
local tolerance = interval * burst
local stored = redis.call('GET', KEYS[1])
local tat = stored and tonumber(stored) or nil
local start = now
if tat ~= nil and tat >= now then start = tat end
local nextTat = start + interval * quantity
local allowed = 0
if nextTat - tolerance <= now then
  allowed = 1
  redis.call('SET', KEYS[1], string.format('%.17g', nextTat), 'PXAT', math.ceil(nextTat))
end
return { allowed, string.format('%.17g', now), stored or '' }
`;

interface GcraCommand {
  sternaGcra(key: string, ...args: string[]): Promise<[number, string, string]>;
}

/** Options of {@link RedisThrottles}. */
export interface RedisThrottlesOptions {
  /** How the server is named in errors (a URL without its password). */
  readonly where: string;
  /** Why redis cannot be reached, when that is known (the last connection error). */
  readonly unreachable?: () => string | undefined;
  /** @default 'sterna:throttle:' */
  readonly prefix?: string;
}

/**
 * Throttles shared by every node that uses the same redis: one key per throttle
 * (`sterna:throttle:<name>`) holding its theoretical arrival time, checked and moved by a Lua
 * script of our own (EVALSHA; the script is sent once per connection). Answers exactly what
 * the local `gcra` answers for the same sequence of checks at the same times.
 *
 * A check while redis is unreachable rejects with an error naming the server and the cause: a
 * shared throttle that cannot be checked is never passed (the callers wait and look again).
 */
export class RedisThrottles implements ThrottleStore {
  readonly #client: RedisClient & GcraCommand;
  readonly #options: RedisThrottlesOptions;
  readonly #prefix: string;

  constructor(client: RedisClient, options: RedisThrottlesOptions) {
    client.defineCommand('sternaGcra', { numberOfKeys: 1, lua: GCRA_SCRIPT });
    this.#client = client as RedisClient & GcraCommand;
    this.#options = options;
    this.#prefix = options.prefix ?? `${FLEET_KEY_PREFIX}throttle:`;
  }

  async check(key: string, spec: ThrottleSpec, quantity = 1): Promise<ThrottleResult> {
    return (await this.step(key, spec, quantity)).result;
  }

  /**
   * {@link check}, with what the script decided from: the server's clock (`now`, ms), the
   * stored arrival time it read (undefined for a fresh throttle) and its own verdict. For tests
   * and diagnostics.
   */
  async step(key: string, spec: ThrottleSpec, quantity = 1): Promise<GcraStep> {
    const down = unavailable(this.#client, this.#options);
    if (down)
      throw new SharedStoreError(`redis throttles: cannot check throttle '${key}': ${down}`);
    let reply: [number, string, string];
    try {
      reply = await this.#client.sternaGcra(
        this.#prefix + key,
        String(spec.period),
        String(spec.limit),
        String(spec.maxBurst),
        String(quantity),
      );
    } catch (error) {
      throw new SharedStoreError(
        `redis throttles: cannot check throttle '${key}' through ${this.#options.where}: ${redisProblem(error)}`,
      );
    }
    const [verdict, clock, stored] = reply;
    const now = Number(clock);
    const tat = stored === '' ? undefined : Number(stored);
    const allowed = verdict === 1;
    let { result } = gcra(tat, spec, now, quantity);
    // Same doubles, same operations: the script and gcra agree. Were they ever not to, the
    // script's verdict is what the fleet counted.
    if (result.throttled === allowed) {
      result = allowed
        ? { ...result, throttled: false, retryAfter: undefined }
        : { ...result, throttled: true, retryAfter: result.retryAfter ?? 0.001 };
    }
    return { result, now, tat, allowed };
  }
}

/** One shared GCRA step, as {@link RedisThrottles.step} reports it. */
export interface GcraStep {
  readonly result: ThrottleResult;
  /** The redis server's clock at the check (epoch ms, fractional). */
  readonly now: number;
  /** The stored theoretical arrival time the check started from; undefined when fresh. */
  readonly tat: number | undefined;
  /** The script's verdict (and the store moved). */
  readonly allowed: boolean;
}

/**
 * Why commands cannot go to redis now, or undefined when they can: a connection known to be
 * down fails at once rather than waiting for the next reconnection attempt.
 */
export function unavailable(
  client: RedisClient,
  options: Pick<RedisThrottlesOptions, 'where' | 'unreachable'>,
): string | undefined {
  const { status } = client;
  if (status === 'end') return `the connection to ${options.where} was closed`;
  if (status === 'close' || status === 'reconnecting' || status === 'disconnecting')
    return `${options.where} is unreachable (${options.unreachable?.() ?? 'connection lost'})`;
  return undefined;
}
