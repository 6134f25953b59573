import {
  type EgressPathConfig,
  type EgressSource,
  errorText,
  internalFailure,
  makeResponse,
  UNSPECIFIED_EGRESS,
  UNSPECIFIED_EGRESS_SOURCE,
} from '@sterna/core';
import {
  DEFAULT_EGRESS_PATH,
  DEFAULT_RETRY_POLICY,
  formatReadyQueueName,
  type RetryPolicy,
} from '@sterna/core/engine';
import { isSharedStoreOutage } from '../cluster/redis-throttles.js';
import { readyQueueService, telemetry } from '../observe/telemetry.js';
import type { EngineStats } from './admin-types.js';
import { Dispositions, scheduledAttempt } from './disposition.js';
import { EgressPaths } from './egress-paths.js';
import { type EgressChoice, EgressSources } from './egress-sources.js';
import { EngineView } from './engine-view.js';
import { QueueAdmin } from './queue-admin.js';
import {
  deliveryTarget,
  type QueueState,
  QueueStates,
  type ResolvedState,
} from './queue-states.js';
import { RateGates } from './rate-gates.js';
import { ReadyQueue, type ReadyQueueSpec } from './ready-queue.js';
import { PathOverrides, ReadyQueueSuspensions, SHARED_CHECK_RETRY_MS, Shaping } from './shaping.js';
import type { ShapingSnapshot } from './shaping-state.js';
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
  readonly #paths: EgressPaths;
  readonly #shaping: Shaping;
  readonly #readySuspensions: ReadyQueueSuspensions;
  readonly #overrides: PathOverrides;
  /** Scheduled queues held back by their `max_message_rate`. */
  readonly #gates: RateGates;
  /** Messages held by a scheduled-queue suspension: message id → suspension id. */
  readonly #held = new Map<string, string>();
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
    this.#shaping = new Shaping(deps.shapingStores, now);
    const persist = () => this.#persist();
    this.#readySuspensions = new ReadyQueueSuspensions(
      now,
      (name) => {
        for (const q of this.#ready.values()) if (q.spec.name === name) q.wake();
      },
      persist,
    );
    this.#overrides = new PathOverrides(now, () => {
      for (const q of this.#ready.values()) q.setPath(this.#effectivePath(q.spec));
      persist();
    });
    this.#paths = new EgressPaths(deps.policy, now);
    this.#gates = new RateGates(this.#shaping, now, (message) =>
      this.#track(this.#promote(message, true)),
    );
    this.#reaper = setInterval(() => this.#reap(), 60_000).unref();
    this.admin = new QueueAdmin(
      {
        takeWhere: (pick) => this.#takeWhere(pick, true),
        takeScheduledWhere: (pick) => this.#takeWhere(pick, false),
        find: (id) => this.#messages.get(id),
        removed: (id) => this.#messages.delete(id),
        track: (work) => this.#track(work),
        schedule: (message) => this.schedule(message),
        changed: persist,
        suspensionLifted: (id) => this.#release(id),
        readySuspensions: this.#readySuspensions,
        overrides: this.#overrides,
        view: new EngineView({
          heap: this.#heap,
          gates: this.#gates,
          ready: () => this.#ready.values(),
          suspension: (name) => this.#readySuspensions.of(name),
          resolve: (domain, source) => this.#resolveEgressPath(domain, source),
          loaded: (queue) => this.#states.loaded(queue),
          now,
        }),
      },
      deps,
      this.#dispositions,
      this.counters,
    );
  }

  /** Automation's egress path overrides (SetConfig, SetDomainConfig). */
  get overrides(): PathOverrides {
    return this.#overrides;
  }

  /** What to keep across a restart: every live suspension, bounce rule and override. */
  snapshot(): ShapingSnapshot {
    return {
      ...this.admin.snapshot(),
      readySuspensions: this.#readySuspensions.rules(),
      overrides: this.#overrides.list(),
    };
  }

  /** Puts back what an earlier run kept (before the spool is queued again). */
  restore(snapshot: ShapingSnapshot): void {
    this.admin.restore(snapshot);
    for (const rule of snapshot.readySuspensions) this.#readySuspensions.restore(rule);
    for (const override of snapshot.overrides) this.#overrides.restore(override);
  }

  /** Messages waiting for their due time. */
  get scheduledCount(): number {
    return this.#heap.size;
  }

  /**
   * The dashboard's figures, in O(queues) (never a walk over the messages): messages held in
   * the spool, waiting in scheduled queues (the timer heap and the rate gates), waiting in
   * ready queues, and open delivery connections.
   */
  figures(): { held: number; scheduled: number; ready: number; connections: number } {
    let scheduled = this.#heap.size;
    for (const count of this.#gates.counts().values()) scheduled += count;
    let ready = 0;
    let connections = 0;
    for (const q of this.#ready.values()) {
      ready += q.size;
      connections += q.connections;
    }
    return { held: this.#deps.spool.stats().messages, scheduled, ready, connections };
  }

  /**
   * Where the engine has one message: its envelope, scheduled queue, due time and attempts, and the
   * ready queue holding it when one does (a walk over the ready queues' items only).
   */
  locate(id: string):
    | {
        sender: string;
        recipients: readonly string[];
        queue: string;
        due: number;
        num_attempts: number;
        ready: string | undefined;
      }
    | undefined {
    const message = this.#messages.get(id);
    if (!message) return undefined;
    let ready: string | undefined;
    for (const q of this.#ready.values()) {
      if (q.items().some((item) => item.message.id === id)) {
        ready = q.spec.name;
        break;
      }
    }
    const { sender, recipients, queue, due, num_attempts } = message;
    return { sender, recipients: [...recipients], queue, due, num_attempts, ready };
  }

  /** Every message the engine holds (scheduled, ready or in an attempt), in no order. */
  heldMessages(): IterableIterator<Readonly<QueuedMessage>> {
    return this.#messages.values();
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

  // Takes waiting messages out of the timer heap, the rate gates and (unless only scheduled
  // ones are wanted) the ready queues.
  #takeWhere(pick: (message: QueuedMessage) => boolean, ready: boolean): QueuedMessage[] {
    const taken = [...this.#heap.removeWhere(pick), ...this.#gates.removeWhere(pick)];
    for (const message of taken) this.#held.delete(message.id);
    if (!ready) return taken;
    for (const q of this.#ready.values())
      taken.push(...q.removeWhere((item) => pick(item.message)).map((i) => i.message));
    return taken;
  }

  // A scheduled-queue suspension ended early (cancelled): its held messages are due now.
  #release(suspension: string): void {
    const ids = new Set<string>();
    for (const [id, by] of this.#held) if (by === suspension) ids.add(id);
    if (ids.size === 0) return;
    const now = (this.#deps.now ?? Date.now)();
    for (const message of this.#takeWhere((m) => ids.has(m.id), false)) {
      message.due = now;
      this.schedule(message);
    }
  }

  #persist(): void {
    this.#deps.stateFile?.schedule(() => this.snapshot());
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
    this.#paths.clear();
    this.#reap();
  }

  /** Stops timers and dispatchers; undelivered messages stay in the spool for the next start. */
  async stop(graceMs = 10_000): Promise<void> {
    this.#stopped = true;
    this.#heap.stop();
    this.#gates.stop();
    this.#readySuspensions.stop();
    this.#overrides.stop();
    clearInterval(this.#reaper);
    await this.#deps.stateFile?.flush();
    const grace = new Promise((r) => setTimeout(r, graceMs).unref());
    await Promise.race([Promise.allSettled([...this.#inFlight]), grace]);
    await Promise.all([...this.#ready.values()].map((q) => q.stop(graceMs)));
  }

  /** Figures for `/metrics`. */
  stats(): EngineStats {
    const scheduled: Record<string, number> = {};
    for (const m of this.#heap.values()) scheduled[m.queue] = (scheduled[m.queue] ?? 0) + 1;
    for (const [queue, count] of this.#gates.counts())
      scheduled[queue] = (scheduled[queue] ?? 0) + count;
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
    const { delays } = this.#shaping;
    return {
      counters: { ...this.counters },
      messages,
      scheduled,
      ready,
      delays: {
        messageRate: Object.fromEntries(delays.messageRate),
        throttleInsert: Object.fromEntries(delays.throttleInsert),
        readyMessageRate: Object.fromEntries(delays.readyMessageRate),
        connectionRate: Object.fromEntries(delays.connectionRate),
        connectionLimited: Object.fromEntries(delays.connectionLimited),
      },
    };
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

  // A due message: bounced by an admin rule, held by a broken config, a suspension or its
  // queue's max_message_rate, or on to its ready queue. `gated`: it comes out of its rate gate.
  async #promote(message: QueuedMessage, gated = false): Promise<void> {
    if (this.#stopped) return;
    this.#held.delete(message.id);
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
      await this.#hold(message, suspension, state.config);
      return;
    }
    const rate = state.config.max_message_rate;
    if (rate && !gated && !(await this.#gates.admit(message, rate))) {
      const due = this.#gates.dueOf(message.queue);
      this.#shaping.delayed('messageRate', message.queue);
      this.#delayed(message, `max_message_rate ${rate} of scheduled queue ${message.queue}`, due);
      return;
    }
    // The policy's own throttle on the move (throttle_insert_ready_queue), if it has one.
    const insert = this.#deps.policy.throttleInsertReadyQueue?.(message, () =>
      this.#deps.spool.read(message.id),
    );
    if (insert) {
      let outage = false;
      const due = await insert.catch((error: unknown) => {
        // The policy's throttle is shared and redis is away: look again shortly (the fleet
        // logs the outage once; nothing goes on unchecked).
        if (isSharedStoreOutage(error)) {
          outage = true;
          return undefined;
        }
        this.#deps.driverContext.logger.error(
          `throttle_insert_ready_queue failed for ${message.id}; it moves on undelayed`,
          { error: errorText(error) },
        );
        return undefined;
      });
      if (outage) {
        this.#retrySoon(message);
        return;
      }
      if (due !== undefined && due > (this.#deps.now ?? Date.now)()) {
        this.#shaping.delayed('throttleInsert', message.queue);
        this.#delayed(message, 'throttle_insert_ready_queue', due);
        message.due = due;
        this.schedule(message);
        return;
      }
    }
    try {
      await this.#toReadyQueue(message, state as ResolvedState);
    } catch (error) {
      // A source's shared selection rate could not be checked: look again shortly rather than
      // back off on the queue's schedule.
      if (isSharedStoreOutage(error)) this.#retrySoon(message);
      else await this.#failResolving(message, error, state.config);
    }
  }

  // Due again in a moment, with no record and no attempt counted: a shared check could not be
  // made (redis unreachable); the fleet logs the outage once.
  #retrySoon(message: QueuedMessage): void {
    message.due = (this.#deps.now ?? Date.now)() + SHARED_CHECK_RETRY_MS;
    this.schedule(message);
  }

  // KumoMTA's record for a suspended scheduled queue (451 4.4.4), but no backoff: the message
  // waits for the suspension's end, or goes at once when it is cancelled.
  async #hold(
    message: QueuedMessage,
    suspension: { readonly id: string; readonly reason: string; readonly expires: number },
    config: RetryPolicy,
  ): Promise<void> {
    const failure = internalFailure(`scheduled queue is suspended: ${suspension.reason}`, 451);
    this.#held.set(message.id, suspension.id);
    await this.#dispositions.hold(
      message,
      {
        ...failure,
        response: { ...failure.response, enhanced_code: { class: 4, subject: 4, detail: 4 } },
      },
      scheduledAttempt(config),
      suspension.expires,
    );
  }

  // KumoMTA's `Delayed` record: a throttle holds the message back until about `due`.
  #delayed(message: QueuedMessage, context: string, due: number): void {
    const seconds = Math.max(0, Math.round((due - (this.#deps.now ?? Date.now)()) / 1000));
    this.#dispositions.log(
      'Delayed',
      message,
      message.recipients,
      {
        response: makeResponse(
          400,
          `Context: ${context}. Next due in ${seconds}s at ${new Date(due).toISOString()}`,
        ),
      },
      scheduledAttempt(DEFAULT_RETRY_POLICY),
    );
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
    const target = deliveryTarget(message.queue);
    const domain = target.routingDomain ?? target.domain;
    // Each message picks its source from the queue's pool as it moves on (maildir delivers
    // inline, with no pool and no source, as in KumoMTA); a source whose path limits how often
    // it may be picked (source_selection_rate) is skipped while over its rate.
    let egress: EgressChoice | undefined;
    if (usesReadyQueue) {
      const choice = await this.#egress.choose(message.queue, config.egress_pool, (source) =>
        this.#eligible(domain, source, site.name),
      );
      if (!choice.source) {
        const failure = internalFailure(
          `no sources for ${message.queue} pool=\`${choice.pool}\` are eligible for selection at this time`,
          451,
        );
        await this.#dispositions.fail(
          message,
          {
            ...failure,
            response: { ...failure.response, enhanced_code: { class: 4, subject: 4, detail: 4 } },
          },
          { ...scheduledAttempt(config), egress_pool: choice.pool },
        );
        return;
      }
      egress = { pool: choice.pool, source: choice.source };
    }
    const source = egress?.source ?? UNSPECIFIED_EGRESS_SOURCE;
    const name = formatReadyQueueName(source.name, site.name, site.service);
    let ready = this.#findReady(name, options, source);
    if (!ready) {
      const path = usesReadyQueue
        ? await this.#paths.get(domain, source.name, site.name)
        : DEFAULT_EGRESS_PATH;
      ready = this.#findReady(name, options, source);
      if (!ready) {
        const spec = {
          name,
          logSite: usesReadyQueue ? name : '',
          driver,
          options,
          site,
          path,
          pathDomain: domain,
          source,
          egress_pool: egress?.pool ?? null,
          egress_source: egress ? source.name : null,
          watchdogMs: this.#watchdogMs,
        };
        ready = new ReadyQueue(
          { ...spec, path: this.#effectivePath(spec) },
          this.#deps,
          this.#dispositions,
          { shaping: this.#shaping, suspension: (n) => this.#readySuspensions.of(n) },
        );
        // Keyed by its name alone unless another queue of that name has it.
        this.#ready.set(this.#ready.has(name) ? sameWayKey(name, options, source) : name, ready);
      }
    }
    ready.enqueue({ message, retry: config, provider_name: config.provider_name });
  }

  /**
   * The ready queue that delivers the same way: same name (source, site and service), driver
   * options and source settings. Maildir names no site, so its queues are told apart by their
   * options alone, and a source whose settings changed gets a fresh ready queue under the same
   * name. The first queue of a name is keyed by the name itself, the string its spec holds
   * anyway: a key of its own (name, options and source as text) was ~200 bytes per queue, for
   * 100,000 destinations. Any other queue of that name is keyed by that longer text.
   */
  #findReady(name: string, options: unknown, source: EgressSource): ReadyQueue | undefined {
    const first = this.#ready.get(name);
    if (first && sameText(first.spec.options, options) && sameText(first.spec.source, source))
      return first;
    // Looked up even when no queue holds the name: the first queue of a name may have been
    // reaped while another one lives on under the longer key.
    return this.#ready.get(sameWayKey(name, options, source));
  }

  // The policy's path for a ready queue, with automation's overrides laid over it.
  #effectivePath(spec: ReadyQueueSpec): EgressPathConfig {
    const source = spec.egress_source ?? UNSPECIFIED_EGRESS;
    return this.#overrides.apply(spec.path, source, spec.site.name, spec.pathDomain);
  }

  // Whether `source` may be picked for `site` now: its path's source_selection_rate and
  // additional_source_selection_rates, smallest rate first; the first one over its rate makes
  // the source ineligible for this pick (KumoMTA's rule).
  #eligible(domain: string, source: string, site: string): boolean | Promise<boolean> {
    const cached = this.#paths.peek(domain, source, site);
    if (cached) return this.#eligibleOn(cached, domain, source, site);
    return this.#paths
      .get(domain, source, site)
      .then((path) => this.#eligibleOn(path, domain, source, site));
  }

  #eligibleOn(
    policyPath: EgressPathConfig,
    domain: string,
    source: string,
    site: string,
  ): boolean | Promise<boolean> {
    const path = this.#overrides.apply(policyPath, source, site, domain);
    if (!path.source_selection_rate && !path.additional_source_selection_rates) return true;
    const checks: [string, string][] = [];
    if (path.source_selection_rate)
      checks.push([`source-selection:${source}->${site}`, path.source_selection_rate]);
    for (const [name, spec] of Object.entries(path.additional_source_selection_rates ?? {}))
      checks.push([`source-selection:${name}`, spec]);
    return this.#shaping.firstRefusal(checks).then((refused) => refused === undefined);
  }

  // resolve-egress-path: what a message for `domain` leaving from `source` would get.
  async #resolveEgressPath(domain: string, source: string) {
    const queue = domain;
    const state = await this.#states.get(queue);
    if ('error' in state.protocol) throw new Error(errorText(state.protocol.error));
    const resolution = await this.#states.site(queue, state as ResolvedState);
    if ('failure' in resolution) throw new Error(resolution.failure.response.content);
    const { site } = resolution;
    const path = this.#overrides.apply(
      await this.#paths.get(domain, source, site.name),
      source,
      site.name,
      domain,
    );
    return {
      domain,
      source,
      queue_name: formatReadyQueueName(source, site.name, site.service),
      site_name: site.name,
      queue_config: { ...state.config } as Record<string, unknown>,
      path_config: path,
    };
  }

  #reap(): void {
    for (const [name, queue] of this.#ready) if (queue.idle) this.#ready.delete(name);
    this.#egress.reap();
    this.#paths.reap();
    // Delay counters of queues that went away are dropped, as KumoMTA prunes idle series.
    const scheduled = new Set(this.#heap.values().map((m) => m.queue));
    for (const [queue] of this.#gates.counts()) scheduled.add(queue);
    // A queue's config is kept while any of its messages is held (scheduled, ready or in flight).
    const held = new Set<string>();
    for (const message of this.#messages.values()) held.add(message.queue);
    this.#states.reap((queue) => held.has(queue));
    const ready = new Set([...this.#ready.values()].map((q) => q.spec.name));
    this.#shaping.prune((kind, label) =>
      kind === 'messageRate' || kind === 'throttleInsert' ? scheduled.has(label) : ready.has(label),
    );
    // Per-queue outcome and connection series too, even when nothing scrapes the metrics.
    telemetry.prune(new Set([...ready].map((name) => readyQueueService(name).service)));
  }
}

/** Whether two sources or two options objects are equal as text (most often they are one). */
function sameText(a: unknown, b: unknown): boolean {
  return a === b || jsonOf(a) === jsonOf(b);
}

/** The key of a ready queue that is not the first of its name (see `#findReady`). */
function sameWayKey(name: string, options: unknown, source: EgressSource): string {
  return `${name}\u0000${jsonOf(options)}\u0000${jsonOf(source)}`;
}

// A source's settings or a queue's driver options as text, for the ready-queue key: computed
// once per object (the egress cache hands out one source per ttl, a queue's state one options
// object per refresh_interval), not once per message.
const JSON_TEXT = new WeakMap<object, string>();
function jsonOf(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'undefined';
  let text = JSON_TEXT.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    JSON_TEXT.set(value, text);
  }
  return text;
}
