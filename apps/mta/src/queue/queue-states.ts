import {
  type AnyProtocolDriver,
  type DeliveryTarget,
  parseQueueName,
  type SiteResolution,
} from '@sterna/core';
import type { EngineDeps, EngineQueueConfig } from './types.js';

/** A scheduled queue's config from the policy, with the driver its protocol table names. */
export interface QueueState {
  readonly expires: number;
  readonly config: EngineQueueConfig;
  /** The driver and its options, or why the protocol table names no usable driver. */
  readonly protocol:
    | { readonly driver: AnyProtocolDriver; readonly options: unknown }
    | { readonly error: unknown };
  site?: { readonly expires: number; readonly resolution: SiteResolution };
  /** The site look-up in flight: messages that come meanwhile wait for it, not ask again. */
  siteLookup?: Promise<SiteResolution>;
}

/** A {@link QueueState} whose protocol names a usable driver. */
export type ResolvedState = QueueState & {
  readonly protocol: { readonly driver: AnyProtocolDriver; readonly options: unknown };
};

/** A scheduled queue name with its parts, as drivers are given it. */
export function deliveryTarget(queue: string): DeliveryTarget {
  return { queue, ...parseQueueName(queue) };
}

/**
 * The scheduled queues' configs: `get_queue_config` asked once per queue and kept for its
 * `refresh_interval`, the protocol table resolved to a driver, and the driver's site for as long
 * as the config lives. Failures are not kept: the next message asks again.
 */
export class QueueStates {
  readonly #deps: EngineDeps;
  readonly #now: () => number;
  readonly #states = new Map<string, Promise<QueueState>>();
  /** The last config each queue resolved to, and when (for inspection without waiting). */
  readonly #loaded = new Map<string, { readonly config: EngineQueueConfig; readonly at: number }>();

  constructor(deps: EngineDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** Forgets every cached config (a new config epoch): the next message asks the policy again. */
  clear(): void {
    this.#states.clear();
    this.#loaded.clear();
  }

  /** The config the queue last resolved to and when (epoch ms), if it did. */
  loaded(queue: string): { readonly config: EngineQueueConfig; readonly at: number } | undefined {
    return this.#loaded.get(queue);
  }

  /**
   * Forgets the configs of queues that no longer hold mail (KumoMTA reaps idle scheduled
   * queues too): a domain seen once does not keep its state for the daemon's life. A message
   * that comes later asks the policy again.
   */
  reap(live: (queue: string) => boolean): void {
    for (const queue of this.#states.keys()) if (!live(queue)) this.#states.delete(queue);
    for (const queue of this.#loaded.keys()) if (!live(queue)) this.#loaded.delete(queue);
  }

  /** The queue's state, from the cache while it is fresh. */
  get(queue: string): Promise<QueueState> {
    const cached = this.#states.get(queue);
    if (cached) {
      return cached.then((state) => (state.expires > this.#now() ? state : this.#refresh(queue)));
    }
    return this.#refresh(queue);
  }

  /**
   * Where the queue's driver delivers: asked once per config lifetime (failures every time),
   * and once at a time: the messages of a burst for a new queue share the one look-up.
   */
  site(queue: string, state: ResolvedState): Promise<SiteResolution> {
    if (state.site && state.site.expires > this.#now())
      return Promise.resolve(state.site.resolution);
    if (state.siteLookup) return state.siteLookup;
    const { driver, options } = state.protocol;
    const lookup = Promise.resolve()
      .then(() => driver.site(options, deliveryTarget(queue), this.#deps.driverContext))
      .then((resolution) => {
        // Failures (NXDOMAIN) are not kept beyond this look-up; sites are, for the config's life.
        if (!('failure' in resolution)) state.site = { expires: state.expires, resolution };
        return resolution;
      });
    state.siteLookup = lookup;
    const done = () => {
      if (state.siteLookup === lookup) state.siteLookup = undefined;
    };
    lookup.then(done, done);
    return lookup;
  }

  #refresh(queue: string): Promise<QueueState> {
    const load = (async (): Promise<QueueState> => {
      const config = await this.#deps.policy.queueConfig(queue, parseQueueName(queue));
      const protocol = await this.#deps.registry
        .resolve(config.protocol)
        .catch((error: unknown) => ({ error }));
      this.#loaded.set(queue, { config, at: this.#now() });
      return { expires: this.#now() + config.refresh_interval * 1000, config, protocol };
    })();
    this.#states.set(queue, load);
    load.catch(() => {
      // Do not cache failures: the next message asks again (the operator may have fixed it).
      if (this.#states.get(queue) === load) this.#states.delete(queue);
    });
    return load;
  }
}
