import {
  type EgressSource,
  errorText,
  UNSPECIFIED_EGRESS,
  UNSPECIFIED_EGRESS_SOURCE,
} from '@sterna/core';
import { SourceRotation } from './source-rotation.js';
import type { EgressPoolConfig, EgressSourceConfig, EnginePolicy } from './types.js';

/** The pool a message leaves through and the source picked from it for this attempt. */
export interface EgressChoice {
  readonly pool: string;
  readonly source: EgressSource;
}

/** A scheduled queue's rotation is forgotten after this long unused, as KumoMTA's idles out. */
const ROTATION_IDLE_MS = 10 * 60_000;

interface Cached<T> {
  readonly expires: number;
  readonly value: T;
}

interface Rotation {
  /** The pool config the entries were last compared for (the cache hands out one per ttl). */
  pool: EgressPoolConfig;
  readonly entries: string;
  readonly rotation: SourceRotation;
  used: number;
}

/**
 * The egress pools and sources of the policy (`get_egress_pool`, `get_egress_source`), each asked
 * once per name and kept for the `ttl` of the table it returned; failures are not kept. Picks a
 * source per message from the scheduled queue's pool by weighted round robin, one rotation per
 * (scheduled queue, pool). The pool and source named `unspecified` are KumoMTA's defaults and are
 * never asked for: the pool holds the one source, which sets nothing.
 */
export class EgressSources {
  readonly #policy: EnginePolicy;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #pools = new Map<string, Promise<Cached<EgressPoolConfig>>>();
  readonly #sources = new Map<string, Promise<Cached<EgressSourceConfig>>>();
  readonly #rotations = new Map<string, Rotation>();

  constructor(policy: EnginePolicy, now: () => number, random: () => number = Math.random) {
    this.#policy = policy;
    this.#now = now;
    this.#random = random;
  }

  /**
   * The pool (the queue config's `egress_pool`, `unspecified` when absent) and the source to use
   * for the next message of `queue`. With `eligible`, a source it refuses (over its selection
   * rate) is passed over for the next one the rotation gives; when every source is refused,
   * `source` is undefined.
   *
   * @throws Error naming the pool or source when the policy cannot describe it.
   */
  async choose(
    queue: string,
    poolName: string | undefined,
    eligible?: (source: string) => boolean | Promise<boolean>,
  ): Promise<{ readonly pool: string; readonly source: EgressSource | undefined }> {
    const pool = poolName ?? UNSPECIFIED_EGRESS;
    if (pool === UNSPECIFIED_EGRESS) {
      if (!eligible) return { pool, source: UNSPECIFIED_EGRESS_SOURCE };
      const ok = eligible(UNSPECIFIED_EGRESS);
      return {
        pool,
        source: ok === true || (ok !== false && (await ok)) ? UNSPECIFIED_EGRESS_SOURCE : undefined,
      };
    }
    const config = await this.#cached(this.#pools, pool, async () => {
      if (!this.#policy.egressPool) throw new Error('the policy answers no get_egress_pool');
      return this.#policy.egressPool(pool);
    }).catch((error: unknown) => {
      throw new Error(`egress pool '${pool}': ${errorText(error)}`);
    });
    const first = this.#rotation(queue, config).next();
    if (!first) {
      throw new Error(`egress pool '${pool}' has no source with a weight above zero`);
    }
    // The rotation's pick first; if it is refused, the pool's other sources in order.
    const order = [
      first.name,
      ...config.entries.filter((e) => e.weight > 0 && e.name !== first.name).map((e) => e.name),
    ];
    for (const name of eligible ? order : [first.name]) {
      if (eligible) {
        const ok = eligible(name);
        if (!(ok === true || (ok !== false && (await ok)))) continue;
      }
      if (name === UNSPECIFIED_EGRESS) return { pool, source: UNSPECIFIED_EGRESS_SOURCE };
      const source = await this.#cached(this.#sources, name, async () => {
        if (!this.#policy.egressSource) throw new Error('the policy answers no get_egress_source');
        return this.#policy.egressSource(name);
      }).catch((error: unknown) => {
        throw new Error(`egress source '${name}' of pool '${pool}': ${errorText(error)}`);
      });
      return { pool, source: sourceOf(source, name) };
    }
    return { pool, source: undefined };
  }

  /** Forgets the pools and sources kept (a new config epoch): the next message asks again. */
  clear(): void {
    this.#pools.clear();
    this.#sources.clear();
  }

  /** Forgets rotations of scheduled queues that sent nothing for ten minutes. */
  reap(): void {
    const before = this.#now() - ROTATION_IDLE_MS;
    for (const [key, r] of this.#rotations) if (r.used < before) this.#rotations.delete(key);
  }

  // A changed pool (other entries or weights) starts a new rotation.
  #rotation(queue: string, pool: EgressPoolConfig): SourceRotation {
    const key = `${queue}\u0000${pool.name}`;
    let r = this.#rotations.get(key);
    // The entries are compared only when the cache gave a new pool config (once per ttl).
    if (!r || r.pool !== pool) {
      const entries = JSON.stringify(pool.entries);
      if (!r || r.entries !== entries) {
        r = { pool, entries, rotation: new SourceRotation(pool.entries, this.#random), used: 0 };
        this.#rotations.set(key, r);
      }
      r.pool = pool;
    }
    r.used = this.#now();
    return r.rotation;
  }

  async #cached<T extends { readonly ttl: number }>(
    cache: Map<string, Promise<Cached<T>>>,
    name: string,
    load: () => Promise<T>,
  ): Promise<T> {
    const hit = cache.get(name);
    if (hit) {
      const entry = await hit.catch(() => undefined);
      if (entry && entry.expires > this.#now()) return entry.value;
      if (cache.get(name) !== hit) return this.#cached(cache, name, load);
    }
    const loading = load().then((value) => ({ expires: this.#now() + value.ttl * 1000, value }));
    cache.set(name, loading);
    loading.catch(() => {
      // Not kept: the next message asks again (the operator may have fixed the policy).
      if (cache.get(name) === loading) cache.delete(name);
    });
    return (await loading).value;
  }
}

// One EgressSource per cached source config, so the per-message path makes no new object.
const SOURCES = new WeakMap<EgressSourceConfig, EgressSource>();

// Only the fields drivers read, under the name the pool used.
function sourceOf(config: EgressSourceConfig, name: string): EgressSource {
  const made = SOURCES.get(config);
  if (made?.name === name) return made;
  const source: Record<string, unknown> = { name };
  for (const key of [
    'source_address',
    'ehlo_domain',
    'remote_port',
    'ha_proxy_server',
    'ha_proxy_source_address',
    'socks5_proxy_server',
    'socks5_proxy_source_address',
  ] as const) {
    if (config[key] !== undefined) source[key] = config[key];
  }
  const frozen = Object.freeze(source) as unknown as EgressSource;
  SOURCES.set(config, frozen);
  return frozen;
}
