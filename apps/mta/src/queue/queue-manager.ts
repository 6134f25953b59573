import {
  type EgressPathConfig,
  type EgressSource,
  errorText,
  internalFailure,
  UNSPECIFIED_EGRESS_SOURCE,
} from '@sterna/core';
import {
  DEFAULT_EGRESS_PATH,
  DEFAULT_RETRY_POLICY,
  formatReadyQueueName,
  type RetryPolicy,
} from '@sterna/core/engine';
import type { EngineStats } from './admin-types.js';
import { Dispositions, scheduledAttempt } from './disposition.js';
import { type EgressChoice, EgressSources } from './egress-sources.js';
import { QueueAdmin } from './queue-admin.js';
import {
  deliveryTarget,
  type QueueState,
  QueueStates,
  type ResolvedState,
} from './queue-states.js';
import { ReadyQueue } from './ready-queue.js';
import { TimerHeap } from './timer-heap.js';
import type { EngineCounters, EngineDeps, QueuedMessage } from './types.js';

/** Options of the engine. */
export interface QueueManagerOptions {
  /** Milliseconds a single send may run before the watchdog abandons it. @default 600000 */
  readonly watchdogMs?: number;
}

/**
 * The queue engine: scheduled queues (one timer heap for every waiting message, per-queue config
 * from `get_queue_config` cached for `refresh_interval`) feeding ready queues per
 * (source, site, service) with their dispatchers. Its admin operations are {@link admin}.
 */
export class QueueManager {
  readonly counters: EngineCounters = {
    received: 0,
    delivered: 0,
    transientFailures: 0,
    bounced: 0,
    expired: 0,
  };
  /** The admin API's operations on these queues (bounce, suspend, inspect). */
  readonly admin: QueueAdmin;
  readonly #deps: EngineDeps;
  readonly #heap: TimerHeap<QueuedMessage>;
  readonly #dispositions: Dispositions;
  readonly #states: QueueStates;
  readonly #egress: EgressSources;
  readonly #reaper: NodeJS.Timeout;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #ready = new Map<string, ReadyQueue>();
  /**
   * Every message this engine holds, by id, until the spool lets it go: scheduled, ready, or
   * in an attempt (between its connection taking it and its disposition requeueing it), so
   * inspect-message finds any spooled message, as KumoMTA's does.
   */
  readonly #messages = new Map<string, QueuedMessage>();
  readonly #watchdogMs: number;
  #stopped = false;

  constructor(deps: EngineDeps, options: QueueManagerOptions = {}) {
    const now = deps.now ?? Date.now;
    this.#deps = deps;
    this.#watchdogMs = options.watchdogMs ?? 600_000;
    this.#heap = new TimerHeap((message) => this.#track(this.#promote(message)), now);
    this.#dispositions = new Dispositions(
      deps,
      { requeue: (message) => this.schedule(message), removed: (id) => this.#messages.delete(id) },
      this.counters,
    );
    this.#states = new QueueStates(deps);
    this.#egress = new EgressSources(deps.policy, now, deps.random);
    this.#reaper = setInterval(() => this.#reap(), 60_000).unref();
    this.admin = new QueueAdmin(
      {
        takeWhere: (pick) => [
          ...this.#heap.removeWhere(pick),
          ...[...this.#ready.values()].flatMap((q) =>
            q.removeWhere((item) => pick(item.message)).map((i) => i.message),
          ),
        ],
        find: (id) => this.#messages.get(id),
        removed: (id) => this.#messages.delete(id),
        track: (work) => this.#track(work),
      },
      deps,
      this.#dispositions,
      this.counters,
    );
  }

  /** Messages waiting for their due time. */
  get scheduledCount(): number {
    return this.#heap.size;
  }

  /** The ready queues, for metrics and inspection. */
  readyQueues(): readonly ReadyQueue[] {
    return [...this.#ready.values()];
  }

  /** Queues a spooled message for its due time (now for a fresh one). */
  schedule(message: QueuedMessage): void {
    if (this.#stopped) return;
    this.#messages.set(message.id, message);
    this.#heap.push(message);
  }

  /**
   * A new config epoch: queue configs, egress pools and egress sources are asked of the policy
   * again at their next use, and idle ready queues are dropped so the next one made reads its
   * egress path again (a busy one keeps the path and source it was made with until it idles out;
   * a message whose source changed goes to a fresh ready queue).
   */
  invalidateConfigs(): void {
    this.#states.clear();
    this.#egress.clear();
    this.#reap();
  }

  /** Stops timers and dispatchers; undelivered messages stay in the spool for the next start. */
  async stop(graceMs = 10_000): Promise<void> {
    this.#stopped = true;
    this.#heap.stop();
    clearInterval(this.#reaper);
    const grace = new Promise((r) => setTimeout(r, graceMs).unref());
    await Promise.race([Promise.allSettled([...this.#inFlight]), grace]);
    await Promise.all([...this.#ready.values()].map((q) => q.stop(graceMs)));
  }

  /** Figures for `/metrics`. */
  stats(): EngineStats {
    const scheduled: Record<string, number> = {};
    for (const m of this.#heap.values()) scheduled[m.queue] = (scheduled[m.queue] ?? 0) + 1;
    const ready: Record<string, { messages: number; connections: number }> = {};
    // Keyed by the ready queue's name (queues told apart only by options are summed).
    for (const q of this.#ready.values()) {
      const seen = ready[q.spec.name] ?? { messages: 0, connections: 0 };
      ready[q.spec.name] = {
        messages: seen.messages + q.size,
        connections: seen.connections + q.connections,
      };
    }
    const messages = this.#deps.spool.stats().messages;
    return { counters: { ...this.counters }, messages, scheduled, ready };
  }

  // Promotions in progress (policy calls, site resolution) finish before the spool closes.
  #track(work: Promise<void>): void {
    const tracked = work
      .catch((error: unknown) =>
        this.#deps.driverContext.logger.error('queue promotion failed', {
          error: errorText(error),
        }),
      )
      .finally(() => this.#inFlight.delete(tracked));
    this.#inFlight.add(tracked);
  }

  // A due message: bounced by an admin rule, held by a broken config or a suspension, or on to
  // its ready queue.
  async #promote(message: QueuedMessage): Promise<void> {
    if (this.#stopped) return;
    const bounce = this.admin.bounceRuleFor(message.queue);
    if (bounce) {
      await this.admin.bounceMessage(message, bounce);
      return;
    }
    let state: QueueState;
    try {
      state = await this.#states.get(message.queue);
    } catch (error) {
      // A broken policy or a missing driver must not lose mail: retry on the default schedule.
      await this.#failResolving(message, error, DEFAULT_RETRY_POLICY);
      return;
    }
    if ('error' in state.protocol) {
      // A missing driver or bad protocol options: keep the mail on the queue's own schedule.
      await this.#failResolving(message, state.protocol.error, state.config);
      return;
    }
    const suspension = this.admin.suspensionFor(message.queue);
    if (suspension) {
      const failure = internalFailure(`scheduled queue is suspended: ${suspension.reason}`, 451);
      await this.#dispositions.fail(
        message,
        {
          ...failure,
          response: { ...failure.response, enhanced_code: { class: 4, subject: 4, detail: 4 } },
        },
        scheduledAttempt(state.config),
      );
      return;
    }
    try {
      await this.#toReadyQueue(message, state as ResolvedState);
    } catch (error) {
      await this.#failResolving(message, error, state.config);
    }
  }

  #failResolving(message: QueuedMessage, error: unknown, retry: RetryPolicy): Promise<void> {
    const text = `failed to resolve queue ${message.queue}: ${errorText(error)}`;
    return this.#dispositions.fail(message, internalFailure(text, 451), scheduledAttempt(retry));
  }

  async #toReadyQueue(message: QueuedMessage, state: ResolvedState): Promise<void> {
    const { config } = state;
    const { driver, options } = state.protocol;
    const resolution = await this.#states.site(message.queue, state);
    if ('failure' in resolution) {
      await this.#dispositions.fail(message, resolution.failure, scheduledAttempt(config));
      return;
    }
    const { site } = resolution;
    const usesReadyQueue = driver.capabilities.readyQueue;
    // Each message picks its source from the queue's pool as it moves on (maildir delivers
    // inline, with no pool and no source, as in KumoMTA).
    const egress: EgressChoice | undefined = usesReadyQueue
      ? await this.#egress.choose(message.queue, config.egress_pool)
      : undefined;
    const source = egress?.source ?? UNSPECIFIED_EGRESS_SOURCE;
    const name = formatReadyQueueName(source.name, site.name, site.service);
    // Queues share a ready queue when they deliver the same way: same source, site and options
    // (maildir names no site, so its queues are told apart by their options alone). A source
    // whose settings changed gets a fresh ready queue under the same name.
    const key = `${name}\u0000${JSON.stringify(options)}\u0000${sourceKey(source)}`;
    let ready = this.#ready.get(key);
    if (!ready) {
      const target = deliveryTarget(message.queue);
      const path = usesReadyQueue
        ? await this.#path(target.routingDomain ?? target.domain, source.name, site.name)
        : DEFAULT_EGRESS_PATH;
      ready = this.#ready.get(key);
      if (!ready) {
        ready = new ReadyQueue(
          {
            name,
            logSite: usesReadyQueue ? name : '',
            driver,
            options,
            site,
            path,
            source,
            egress_pool: egress?.pool ?? null,
            egress_source: egress ? source.name : null,
            watchdogMs: this.#watchdogMs,
          },
          this.#deps,
          this.#dispositions,
        );
        this.#ready.set(key, ready);
      }
    }
    ready.enqueue({ message, retry: config, provider_name: config.provider_name });
  }

  // The egress path is read when a ready queue is made; idle ready queues are reaped, so a
  // changed policy takes effect once a queue has been quiet for a minute.
  #path(routingDomain: string, source: string, siteName: string): Promise<EgressPathConfig> {
    return this.#deps.policy.egressPath(routingDomain, source, siteName);
  }

  #reap(): void {
    for (const [name, queue] of this.#ready) if (queue.idle) this.#ready.delete(name);
    this.#egress.reap();
  }
}

// A source's settings as text, for the ready-queue key: computed once per source object (the
// egress cache hands out one per ttl), not once per message.
const SOURCE_KEYS = new WeakMap<EgressSource, string>();
function sourceKey(source: EgressSource): string {
  let key = SOURCE_KEYS.get(source);
  if (key === undefined) {
    key = JSON.stringify(source);
    SOURCE_KEYS.set(source, key);
  }
  return key;
}
