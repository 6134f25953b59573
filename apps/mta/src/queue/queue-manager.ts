import {
  type AnyProtocolDriver,
  DEFAULT_EGRESS_PATH,
  DEFAULT_RETRY_POLICY,
  type DeliveryTarget,
  type EgressPathConfig,
  errorText,
  formatReadyQueueName,
  internalFailure,
  makeResponse,
  parseQueueName,
  type SiteResolution,
} from '@sterna/core';
import { RuleSet, selects } from './admin-rules.js';
import type {
  AdminApi,
  AdminRule,
  BounceRequest,
  EngineStats,
  InspectedMessage,
  SuspendRequest,
} from './admin-types.js';
import { type AttemptInfo, Dispositions } from './disposition.js';
import { ReadyQueue } from './ready-queue.js';
import { TimerHeap } from './timer-heap.js';
import type { EngineCounters, EngineDeps, EngineQueueConfig, QueuedMessage } from './types.js';

/** The default egress source and pool, as KumoMTA names them. */
const UNSPECIFIED = 'unspecified';

interface QueueState {
  readonly expires: number;
  readonly config: EngineQueueConfig;
  /** The driver and its options, or why the protocol table names no usable driver. */
  readonly protocol:
    | { readonly driver: AnyProtocolDriver; readonly options: unknown }
    | { readonly error: unknown };
  site?: { readonly expires: number; readonly resolution: SiteResolution };
}

type ResolvedState = QueueState & {
  readonly protocol: { readonly driver: AnyProtocolDriver; readonly options: unknown };
};

/** Options of the engine. */
export interface QueueManagerOptions {
  /** Milliseconds a single send may run before the watchdog abandons it. @default 600000 */
  readonly watchdogMs?: number;
}

/**
 * The queue engine: scheduled queues (one timer heap for every waiting message, per-queue config
 * from `get_queue_config` cached for `refresh_interval`) feeding ready queues per
 * (source, site, service) with their dispatchers.
 */
export class QueueManager implements AdminApi {
  readonly counters: EngineCounters = {
    received: 0,
    delivered: 0,
    transientFailures: 0,
    bounced: 0,
    expired: 0,
  };
  readonly #deps: EngineDeps;
  readonly #heap: TimerHeap<QueuedMessage>;
  readonly #dispositions: Dispositions;
  readonly #states = new Map<string, Promise<QueueState>>();
  readonly #reaper: NodeJS.Timeout;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #bounces: RuleSet;
  readonly #suspensions: RuleSet;
  readonly #ready = new Map<string, ReadyQueue>();
  readonly #now: () => number;
  readonly #watchdogMs: number;
  #stopped = false;

  constructor(deps: EngineDeps, options: QueueManagerOptions = {}) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#watchdogMs = options.watchdogMs ?? 600_000;
    this.#heap = new TimerHeap((message) => this.#track(this.#promote(message)), this.#now);
    this.#dispositions = new Dispositions(deps, (message) => this.schedule(message), this.counters);
    this.#reaper = setInterval(() => this.#reap(), 60_000).unref();
    this.#bounces = new RuleSet(this.#now);
    this.#suspensions = new RuleSet(this.#now);
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
    this.#heap.push(message);
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

  async #promote(message: QueuedMessage): Promise<void> {
    if (this.#stopped) return;
    const bounce = this.#bounces.match(message.queue);
    if (bounce) {
      await this.#adminBounce(message, bounce.reason, bounce.suppressLogging);
      return;
    }
    let state: QueueState;
    try {
      state = await this.#state(message.queue);
    } catch (error) {
      // A broken policy or a missing driver must not lose mail: retry on the default schedule.
      const failure = internalFailure(
        `failed to resolve queue ${message.queue}: ${errorText(error)}`,
        451,
      );
      await this.#dispositions.fail(message, failure, this.#scheduledInfo(DEFAULT_RETRY_POLICY));
      return;
    }
    if ('error' in state.protocol) {
      // A missing driver or bad protocol options: keep the mail on the queue's own schedule.
      const failure = internalFailure(
        `failed to resolve queue ${message.queue}: ${errorText(state.protocol.error)}`,
        451,
      );
      await this.#dispositions.fail(message, failure, this.#scheduledInfo(state.config.retry));
      return;
    }
    const suspension = this.#suspensions.match(message.queue);
    if (suspension) {
      const failure = internalFailure(`scheduled queue is suspended: ${suspension.reason}`, 451);
      await this.#dispositions.fail(
        message,
        {
          ...failure,
          response: { ...failure.response, enhanced_code: { class: 4, subject: 4, detail: 4 } },
        },
        this.#scheduledInfo(state.config.retry),
      );
      return;
    }
    try {
      await this.#toReadyQueue(message, state as ResolvedState);
    } catch (error) {
      const failure = internalFailure(
        `failed to resolve queue ${message.queue}: ${errorText(error)}`,
        451,
      );
      await this.#dispositions.fail(message, failure, this.#scheduledInfo(state.config.retry));
    }
  }

  async #toReadyQueue(message: QueuedMessage, state: ResolvedState): Promise<void> {
    const { config } = state;
    const { driver, options } = state.protocol;
    const resolution = await this.#site(message.queue, state);
    if ('failure' in resolution) {
      await this.#dispositions.fail(message, resolution.failure, this.#scheduledInfo(config.retry));
      return;
    }
    const { site } = resolution;
    const name = formatReadyQueueName(UNSPECIFIED, site.name, site.service);
    // Queues share a ready queue when they deliver the same way: same site and same options
    // (maildir names no site, so its queues are told apart by their options alone).
    const key = `${name}\u0000${JSON.stringify(options)}`;
    let ready = this.#ready.get(key);
    if (!ready) {
      const target = this.#target(message.queue);
      const usesReadyQueue = driver.capabilities.readyQueue;
      const path = usesReadyQueue
        ? await this.#path(target.routingDomain ?? target.domain, site.name)
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
            egressPool: usesReadyQueue ? (config.egressPool ?? UNSPECIFIED) : null,
            egressSource: usesReadyQueue ? UNSPECIFIED : null,
            watchdogMs: this.#watchdogMs,
          },
          this.#deps,
          this.#dispositions,
        );
        this.#ready.set(key, ready);
      }
    }
    ready.enqueue({ message, retry: config.retry, providerName: config.providerName });
  }

  // ---- admin ----

  bounce(request: BounceRequest): {
    id: string;
    bounced: Record<string, number>;
    total_bounced: number;
  } {
    const rule = this.#bounces.add(
      request,
      request.reason,
      request.duration ?? 300,
      request.suppress_logging ?? false,
    );
    const bounced: Record<string, number> = {};
    const victims = [
      ...this.#heap.removeWhere((m) => selects(request, m.queue)),
      ...[...this.#ready.values()].flatMap((q) =>
        q.removeWhere((item) => selects(request, item.message.queue)).map((i) => i.message),
      ),
    ];
    for (const message of victims) {
      bounced[message.queue] = (bounced[message.queue] ?? 0) + 1;
      this.#track(this.#adminBounce(message, rule.reason, rule.suppressLogging));
    }
    return { id: rule.id, bounced, total_bounced: victims.length };
  }

  listBounces(): AdminRule[] {
    return this.#bounces.list();
  }

  cancelBounce(id: string): boolean {
    return this.#bounces.cancel(id);
  }

  suspend(request: SuspendRequest): { id: string } {
    return { id: this.#suspensions.add(request, request.reason, request.duration ?? 300).id };
  }

  listSuspensions(): AdminRule[] {
    return this.#suspensions.list();
  }

  cancelSuspension(id: string): boolean {
    return this.#suspensions.cancel(id);
  }

  async inspectMessage(id: string, wantBody: boolean): Promise<InspectedMessage | undefined> {
    const message =
      this.#heap.values().find((m) => m.id === id) ??
      [...this.#ready.values()].flatMap((q) => q.items()).find((item) => item.message.id === id)
        ?.message;
    if (!message) return undefined;
    const data = wantBody
      ? Buffer.from(await this.#deps.spool.read(id)).toString('utf8')
      : undefined;
    return {
      id,
      message: {
        sender: message.sender,
        recipient: message.recipients.length === 1 ? message.recipients[0]! : message.recipients,
        meta: message.meta,
        ...(data !== undefined ? { data } : {}),
        due: new Date(message.due).toISOString(),
        num_attempts: message.numAttempts,
      },
    };
  }

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

  async #adminBounce(
    message: QueuedMessage,
    reason: string,
    suppressLogging: boolean,
  ): Promise<void> {
    const response = makeResponse(551, `Administrator bounced with reason: ${reason}`, {
      enhanced: { class: 5, subject: 7, detail: 1 },
    });
    if (!suppressLogging)
      this.#dispositions.log(
        'AdminBounce',
        message,
        message.recipients,
        { response },
        { ...this.#scheduledInfo(DEFAULT_RETRY_POLICY), site: 'localhost' },
      );
    this.counters.bounced += message.recipients.length;
    await this.#deps.spool.remove(message.id);
  }

  #scheduledInfo(retry: EngineQueueConfig['retry']): AttemptInfo {
    return { site: '', deliveryProtocol: null, egressPool: null, egressSource: null, retry };
  }

  #target(queue: string): DeliveryTarget {
    return { queue, ...parseQueueName(queue) };
  }

  // Queue config and its driver, cached per queue for refresh_interval.
  #state(queue: string): Promise<QueueState> {
    const cached = this.#states.get(queue);
    if (cached) {
      return cached.then((state) => (state.expires > this.#now() ? state : this.#refresh(queue)));
    }
    return this.#refresh(queue);
  }

  #refresh(queue: string): Promise<QueueState> {
    const load = (async (): Promise<QueueState> => {
      const config = await this.#deps.policy.queueConfig(queue, parseQueueName(queue));
      const protocol = await this.#deps.registry
        .resolve(config.protocol)
        .catch((error: unknown) => ({ error }));
      return { expires: this.#now() + config.refreshInterval * 1000, config, protocol };
    })();
    this.#states.set(queue, load);
    load.catch(() => {
      // Do not cache failures: the next message asks again (the operator may have fixed it).
      if (this.#states.get(queue) === load) this.#states.delete(queue);
    });
    return load;
  }

  async #site(queue: string, state: ResolvedState): Promise<SiteResolution> {
    const now = this.#now();
    if (state.site && state.site.expires > now) return state.site.resolution;
    const resolution = await state.protocol.driver.site(
      state.protocol.options,
      this.#target(queue),
      this.#deps.driverContext,
    );
    // Failures (NXDOMAIN) are not cached beyond this attempt; sites are, for the config's lifetime.
    if (!('failure' in resolution)) state.site = { expires: state.expires, resolution };
    return resolution;
  }

  // The egress path is read when a ready queue is made; idle ready queues are reaped, so a
  // changed policy takes effect once a queue has been quiet for a minute.
  #path(routingDomain: string, siteName: string): Promise<EgressPathConfig> {
    return this.#deps.policy.egressPath(routingDomain, UNSPECIFIED, siteName);
  }

  #reap(): void {
    for (const [name, queue] of this.#ready) if (queue.idle) this.#ready.delete(name);
  }
}
