import type { Logger } from '@sterna/core';
import {
  type ConnectionLimiter,
  type Lease,
  LOCAL_LIMIT_PREFIX,
  LocalConnectionLimits,
  LocalThrottles,
  type ThrottleResult,
  type ThrottleSpec,
  type ThrottleStore,
} from '@sterna/core/engine';
import type { ConfigParams } from '@sterna/lua';
import type { Closable } from '../daemon/boot/parts.js';
import { describeRedis, openRedis, type RedisClient, redisProblem } from './redis-connect.js';
import { RedisConnectionLimits } from './redis-limits.js';
import { RedisThrottles } from './redis-throttles.js';

/** `kumo.configure_redis_throttles{…}`, parsed. */
export type RedisThrottlesParams = ConfigParams['redis_throttles'];

// How often at most a failure that is not an outage (a script error) is logged.
const PROBLEM_LOG_MS = 60_000;

interface Shared {
  readonly client: RedisClient;
  readonly throttles: RedisThrottles;
  readonly limits: RedisConnectionLimits;
  readonly where: string;
}

/**
 * The daemon's throttle and connection-limit stores. They exist before the policy's `init`
 * runs (the Lua runtime starts with them) and keep everything on this node until
 * {@link connect} is called with `kumo.configure_redis_throttles`'s parameters; from then on
 * every throttle and limit is shared through redis, except the `local:` ones (a throttle spec
 * written `local:…`, a limit named `local:…`), which stay this node's own.
 *
 * Shared state that cannot be reached fails closed: checks reject (the queues wait and look
 * again, `throttle:throttle()` raises in Lua). One warning is logged when redis becomes
 * unreachable and one line when it is back.
 */
export class Fleet implements Closable {
  /** This node's own stores (everything when redis is not configured, `local:` always). */
  readonly local = { throttles: new LocalThrottles(), limits: new LocalConnectionLimits() };
  /** The throttle store to give the policy runtime and the queues. */
  readonly throttles: ThrottleStore;
  /** The connection limiter to give the queues. */
  readonly limits: ConnectionLimiter;
  readonly #log: Logger;
  #shared: Shared | undefined;
  /** The last connection error while redis is away; undefined while it is reachable. */
  #lastError: string | undefined;
  /** Undefined until redis first answered. */
  #up: boolean | undefined;
  /** The outage was logged. */
  #warned = false;
  #lostAt = 0;
  #problemLoggedAt = 0;

  constructor(log: Logger) {
    this.#log = log;
    this.throttles = {
      check: (key, spec, quantity) => this.#check(key, spec, quantity),
    };
    const fleet = this;
    this.limits = {
      get seesEveryRelease() {
        return fleet.#shared === undefined;
      },
      acquire: (name, limit) => this.#acquire(name, limit),
      whenReleased: (name, wake) => this.#limitsFor(name).whenReleased(name, wake),
    };
  }

  /** True once throttles and limits are shared through redis. */
  get shared(): boolean {
    return this.#shared !== undefined;
  }

  /**
   * Shares throttles and connection limits through the redis `params` names. Does not wait
   * for the server: until it answers, shared checks wait (and a warning says why).
   *
   * @throws Error when called twice or with a node that is not a redis URL.
   */
  connect(params: RedisThrottlesParams): void {
    if (this.#shared) throw new Error('Fleet.connect: redis throttles are already configured');
    const where = describeRedis(params);
    const client = openRedis(params, {
      failFast: true,
      connectionName: 'sterna-throttles',
      onError: (error) => this.#lost(where, error),
    });
    client.on('ready', () => this.#ready(where, params.connection_lease_duration));
    client.on('close', () => this.#closed());
    const unreachable = () => this.#lastError;
    const throttles = new RedisThrottles(client, { where, unreachable });
    const limits = new RedisConnectionLimits(client, {
      where,
      unreachable,
      leaseMs: params.connection_lease_duration * 1000,
      onProblem: (text) => this.#problem(text),
    });
    this.#shared = { client, throttles, limits, where };
  }

  async close(): Promise<void> {
    const shared = this.#shared;
    if (!shared) return;
    await shared.limits.close();
    shared.client.disconnect();
  }

  #check(
    key: string,
    spec: ThrottleSpec,
    quantity?: number,
  ): ThrottleResult | Promise<ThrottleResult> {
    const shared = this.#shared;
    if (!shared || spec.local) return this.local.throttles.check(key, spec, quantity);
    return shared.throttles.check(key, spec, quantity).catch((error: unknown) => {
      this.#unexpected(error);
      throw error;
    });
  }

  #acquire(name: string, limit: number): Lease | undefined | Promise<Lease | undefined> {
    const shared = this.#shared;
    if (!shared || name.startsWith(LOCAL_LIMIT_PREFIX))
      return this.local.limits.acquire(name, limit);
    return shared.limits.acquire(name, limit).catch((error: unknown) => {
      this.#unexpected(error);
      throw error;
    });
  }

  #limitsFor(name: string): ConnectionLimiter {
    const shared = this.#shared;
    return !shared || name.startsWith(LOCAL_LIMIT_PREFIX) ? this.local.limits : shared.limits;
  }

  #ready(where: string, leaseSeconds: number): void {
    if (this.#up === undefined) {
      this.#log.info(
        `redis throttles: shared through ${where} (throttles and connection limits are fleet-wide; connection leases last ${leaseSeconds} s)`,
      );
    } else if (this.#warned) {
      const seconds = Math.round((Date.now() - this.#lostAt) / 1000);
      this.#log.info(
        `redis throttles: ${where} is reachable again after ${seconds} s; shaped traffic moves again`,
      );
    }
    this.#up = true;
    this.#warned = false;
    this.#lastError = undefined;
  }

  #closed(): void {
    if (this.#up !== true) return;
    this.#up = false;
    this.#lostAt = Date.now();
  }

  // ioredis reports each failed attempt: the first while redis is away is logged (with the
  // cause), the rest are not.
  #lost(where: string, error: Error): void {
    this.#lastError = redisProblem(error);
    if (this.#up === true || this.#warned) return;
    if (this.#up === undefined) this.#lostAt = Date.now();
    this.#warned = true;
    this.#log.warn(
      `redis throttles: ${where} is unreachable (${this.#lastError}); mail under shared throttles and connection limits waits in its queues (nothing is sent unchecked) until redis is back`,
    );
  }

  // An outage is logged once, by #lost; any other failure (a script the server refuses, a
  // time-out) is logged here, at most once a minute.
  #unexpected(error: unknown): void {
    if (this.#up !== true) return;
    this.#problem(redisProblem(error));
  }

  #problem(text: string): void {
    const now = Date.now();
    if (now - this.#problemLoggedAt < PROBLEM_LOG_MS) return;
    this.#problemLoggedAt = now;
    this.#log.warn(text);
  }
}
