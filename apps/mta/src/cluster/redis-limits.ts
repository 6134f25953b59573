import { randomUUID } from 'node:crypto';
import { type ConnectionLimiter, type Lease, WaitingLines } from '@sterna/core/engine';
import type { RedisClient } from './redis-connect.js';
import { isCluster, redisProblem } from './redis-connect.js';
import { FLEET_KEY_PREFIX, SharedStoreError, unavailable } from './redis-throttles.js';

// The three lease scripts. A limit is a sorted set: member = lease id, score = when the lease
// lapses (ms, on the redis server's clock, the one every node shares). The key itself expires
// a lease time after its last change, so a limit nobody uses leaves nothing behind.
const NOW = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;

/** KEYS[1] the limit; ARGV: limit, lease ms, lease id. 1 when taken, 0 when the limit is full. */
const ACQUIRE_SCRIPT = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/**
 * KEYS[1] the limit; ARGV: lease ms, lease id. Puts the lease back even when it had lapsed or
 * redis lost it (restarted without its data): the connection it stands for is still open, and
 * the count must say so, even above the limit for a while.
 */
const RENEW_SCRIPT = `${NOW}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;

/** KEYS[1] the limit; ARGV: lease id, channel, limit name. Always announced: someone may wait. */
const RELEASE_SCRIPT = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
`;

// How long a stopping node waits for redis to take its releases (they lapse anyway).
const CLOSE_WAIT_MS = 3000;

// `work`, or nothing after `ms`.
function within(ms: number, work: Promise<unknown>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

interface LeaseCommands {
  sternaLeaseAcquire(key: string, limit: string, ms: string, id: string): Promise<number>;
  sternaLeaseRenew(key: string, ms: string, id: string): Promise<number>;
  sternaLeaseRelease(key: string, id: string, channel: string, name: string): Promise<number>;
}

type LeaseClient = RedisClient & LeaseCommands;

/** Options of {@link RedisConnectionLimits}. */
export interface RedisLimitsOptions {
  /** How the server is named in errors (a URL without its password). */
  readonly where: string;
  /** How long a lease lasts unless its node renews it (ms); renewed every third of it. */
  readonly leaseMs: number;
  /** Why redis cannot be reached, when that is known (the last connection error). */
  readonly unreachable?: () => string | undefined;
  /** Told of failures nobody waits for (a renewal, a release that will be tried again). */
  readonly onProblem?: (text: string) => void;
  /** @default 'sterna:' */
  readonly prefix?: string;
}

interface Held {
  readonly key: string;
  readonly name: string;
}

/**
 * Connection limits shared by every node that uses the same redis: each connection holds a
 * lease in the limit's sorted set (`sterna:limit:<name>`), renewed by its node every third of
 * the lease time (all of a node's leases at once, written back to back) and removed when the connection
 * closes. A node that dies stops renewing: its leases lapse within the lease time and the
 * limit is free again. Each release is announced on the channel `sterna:limit-released`, which
 * every node listens to, so a queue waiting on any node tries again at once.
 *
 * A node is not told when another node's lease lapses, so `seesEveryRelease` is false and the
 * waiting queues also look again from time to time.
 */
export class RedisConnectionLimits implements ConnectionLimiter {
  readonly seesEveryRelease = false;
  readonly #client: LeaseClient;
  readonly #subscriber: RedisClient;
  readonly #options: RedisLimitsOptions;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #node = randomUUID();
  #sequence = 0;
  /** Leases this node holds: id → limit. */
  readonly #held = new Map<string, Held>();
  /** Leases given back while redis could not be told: told at the next renewal. */
  readonly #unreleased = new Map<string, Held>();
  readonly #waiting = new WaitingLines();
  /** Releases on their way to redis (a stopping node waits for them). */
  readonly #releasing = new Set<Promise<void>>();
  readonly #timer: NodeJS.Timeout;
  #renewing = false;
  #subscribed = false;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(client: RedisClient, options: RedisLimitsOptions) {
    if (!(options.leaseMs >= 1000)) {
      throw new Error(
        `RedisConnectionLimits: the lease time must be at least one second, got ${options.leaseMs} ms`,
      );
    }
    client.defineCommand('sternaLeaseAcquire', { numberOfKeys: 1, lua: ACQUIRE_SCRIPT });
    client.defineCommand('sternaLeaseRenew', { numberOfKeys: 1, lua: RENEW_SCRIPT });
    client.defineCommand('sternaLeaseRelease', { numberOfKeys: 1, lua: RELEASE_SCRIPT });
    this.#client = client as LeaseClient;
    this.#options = options;
    const prefix = options.prefix ?? FLEET_KEY_PREFIX;
    this.#prefix = `${prefix}limit:`;
    this.#channel = `${prefix}limit-released`;
    // A second connection: a subscribed one takes no other commands. It subscribes on each
    // `ready` itself (ioredis' own re-subscription leaves a promise nobody handles).
    this.#subscriber = isCluster(client)
      ? client.duplicate()
      : client.duplicate({ autoResubscribe: false });
    this.#subscriber.on('error', () => {});
    this.#subscriber.on('message', (channel: string, name: string) => {
      if (channel === this.#channel) this.#waiting.offer(name);
    });
    // Releases announced while this node was not listening are lost: after a reconnection,
    // every waiting queue looks again.
    this.#subscriber.on('ready', () => {
      this.#subscriber.subscribe(this.#channel).catch(() => undefined);
      if (this.#subscribed) for (const name of this.#waiting.names()) this.#waiting.offer(name);
      this.#subscribed = true;
    });
    this.#timer = setInterval(() => void this.#renew(), Math.floor(options.leaseMs / 3));
    this.#timer.unref();
  }

  /** Leases this node holds (for tests and metrics). */
  get held(): number {
    return this.#held.size;
  }

  async acquire(name: string, limit: number): Promise<Lease | undefined> {
    if (this.#closing)
      throw new SharedStoreError(`redis connection limits: closed; '${name}' not taken`);
    const down = unavailable(this.#client, this.#options);
    if (down)
      throw new SharedStoreError(
        `redis connection limits: cannot take a lease on '${name}': ${down}`,
      );
    const id = `${this.#node}:${++this.#sequence}`;
    const key = this.#prefix + name;
    let taken: number;
    try {
      taken = await this.#client.sternaLeaseAcquire(
        key,
        String(limit),
        String(this.#options.leaseMs),
        id,
      );
    } catch (error) {
      throw new SharedStoreError(
        `redis connection limits: cannot take a lease on '${name}' through ${this.#options.where}: ${redisProblem(error)}`,
      );
    }
    if (taken !== 1) return undefined;
    const held = { key, name };
    this.#held.set(id, held);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#held.delete(id);
        const sent: Promise<void> = this.#release(id, held).finally(() =>
          this.#releasing.delete(sent),
        );
        this.#releasing.add(sent);
      },
    };
  }

  whenReleased(name: string, wake: () => boolean): () => void {
    return this.#waiting.join(name, wake);
  }

  /** Stops renewing, gives back every lease still held (best effort) and stops listening. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearInterval(this.#timer);
    // The releases of the connections that closed as the node stopped go first: the other
    // nodes need not wait a lease time for them.
    await within(CLOSE_WAIT_MS, Promise.allSettled([...this.#releasing]));
    this.#closed = true;
    const pending = [...this.#held, ...this.#unreleased];
    this.#held.clear();
    this.#unreleased.clear();
    if (unavailable(this.#client, this.#options) === undefined && pending.length > 0) {
      await within(
        CLOSE_WAIT_MS,
        Promise.allSettled(
          pending.map(([id, held]) =>
            this.#client.sternaLeaseRelease(held.key, id, this.#channel, held.name),
          ),
        ),
      );
    }
    this.#subscriber.disconnect();
  }

  async #release(id: string, held: Held): Promise<void> {
    try {
      if (unavailable(this.#client, this.#options)) throw new Error('redis is unreachable');
      await this.#client.sternaLeaseRelease(held.key, id, this.#channel, held.name);
    } catch {
      // Not renewed any more, so it lapses by itself; told again at the next renewal all the
      // same, so the limit frees sooner when redis is back within the lease time.
      if (!this.#closed) this.#unreleased.set(id, held);
    }
  }

  // Every lease held is renewed, and every release redis missed is told again, all at once.
  async #renew(): Promise<void> {
    if (this.#renewing || this.#closed) return;
    if (this.#held.size === 0 && this.#unreleased.size === 0) return;
    if (unavailable(this.#client, this.#options)) return;
    this.#renewing = true;
    const ms = String(this.#options.leaseMs);
    const renewals = [...this.#held];
    const releases = [...this.#unreleased];
    this.#unreleased.clear();
    try {
      const calls: ((target: LeaseCommands) => Promise<unknown>)[] = [
        ...renewals.map(
          ([id, held]) =>
            (target: LeaseCommands) =>
              target.sternaLeaseRenew(held.key, ms, id),
        ),
        ...releases.map(
          ([id, held]) =>
            (target: LeaseCommands) =>
              target.sternaLeaseRelease(held.key, id, this.#channel, held.name),
        ),
      ];
      const failed = await this.#batch(calls);
      for (const index of failed) {
        const release = releases[index - renewals.length];
        if (release && !this.#closed) this.#unreleased.set(release[0], release[1]);
      }
      if (failed.length > 0) {
        this.#options.onProblem?.(
          `redis connection limits: ${failed.length} lease renewals or releases failed through ${this.#options.where}; they are tried again in ${Math.round(this.#options.leaseMs / 3000)} s`,
        );
      }
    } finally {
      this.#renewing = false;
    }
  }

  // Every call on its own, written back to back by ioredis, each promise awaited: a pipeline
  // of script commands would leave each command's own promise without a handler, an unhandled
  // rejection when the connection closes under it. Returns the indexes of the calls that failed.
  async #batch(calls: ((target: LeaseCommands) => Promise<unknown>)[]): Promise<number[]> {
    const results = await Promise.allSettled(calls.map((call) => call(this.#client)));
    const failed: number[] = [];
    results.forEach((r, i) => {
      if (r.status === 'rejected') failed.push(i);
    });
    return failed;
  }
}
