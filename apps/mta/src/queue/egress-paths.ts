import type { EgressPathConfig } from '@sterna/core';
import type { EnginePolicy } from './types.js';

interface Entry {
  readonly expires: number;
  readonly path: Promise<EgressPathConfig>;
  /** Set once the promise settled well, so a hit needs no await. */
  value?: EgressPathConfig;
}

/** KumoMTA's default refresh_interval for an egress path, seconds. */
const DEFAULT_REFRESH_SECONDS = 60;

/**
 * The policy's egress paths (`get_egress_path_config(domain, source, site)`), each asked once
 * and kept for its `refresh_interval` (a minute by default); failures are not kept. Ready queues
 * read their path here when they are made, and source selection reads the candidate source's
 * path for every message, so a hit is a map lookup.
 */
export class EgressPaths {
  readonly #policy: EnginePolicy;
  readonly #now: () => number;
  readonly #cache = new Map<string, Entry>();

  constructor(policy: EnginePolicy, now: () => number) {
    this.#policy = policy;
    this.#now = now;
  }

  /** The path when it is cached and fresh, without waiting. */
  peek(domain: string, source: string, site: string): EgressPathConfig | undefined {
    const entry = this.#cache.get(key(domain, source, site));
    return entry?.value && entry.expires > this.#now() ? entry.value : undefined;
  }

  /** The path, from the cache while it is fresh. */
  get(domain: string, source: string, site: string): Promise<EgressPathConfig> {
    const k = key(domain, source, site);
    const entry = this.#cache.get(k);
    if (entry && entry.expires > this.#now()) return entry.path;
    const path = this.#policy.egressPath(domain, source, site);
    const fresh: Entry = { expires: Number.POSITIVE_INFINITY, path };
    this.#cache.set(k, fresh);
    path.then(
      (value) => {
        if (this.#cache.get(k) !== fresh) return;
        const seconds = value.refresh_interval ?? DEFAULT_REFRESH_SECONDS;
        this.#cache.set(k, { expires: this.#now() + seconds * 1000, path, value });
      },
      () => {
        // Not kept: the next message asks again (the operator may have fixed the policy).
        if (this.#cache.get(k) === fresh) this.#cache.delete(k);
      },
    );
    return path;
  }

  /** Forgets every path (a new config epoch). */
  clear(): void {
    this.#cache.clear();
  }

  /** Drops the paths whose time is up. */
  reap(): void {
    const now = this.#now();
    for (const [k, entry] of this.#cache) if (entry.expires <= now) this.#cache.delete(k);
  }
}

const key = (domain: string, source: string, site: string) =>
  `${domain}\u0000${source}\u0000${site}`;
