import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import {
  type AnyProtocolDriver,
  createMessage,
  type EgressPathConfig,
  type EgressSource,
  errorText,
  internalFailure,
  isDeliveryFailure,
  type Message,
  makeResponse,
  type Outcome,
  type Site,
} from '@sterna/core';
import {
  type Lease,
  LOCAL_LIMIT_PREFIX,
  type ManagedConnection,
  openConnection,
  type RetryPolicy,
} from '@sterna/core/engine';
import {
  countConnection,
  countReadyFull,
  countWatchdogAbort,
  timeDelivery,
} from '../observe/telemetry.js';
import { keepMeta } from '../spool/intern.js';
import { tracedContext } from '../trace/driver-context.js';
import type { AttemptInfo, Dispositions } from './disposition.js';
import { type ReadySuspensionRule, SHARED_CHECK_RETRY_MS, type Shaping } from './shaping.js';
import type { EngineDeps, QueuedMessage } from './types.js';

/** A message in a ready queue, with the settings of the scheduled queue it came from. */
export interface ReadyItem {
  readonly message: QueuedMessage;
  readonly retry: RetryPolicy;
  /** The queue config's `provider_name`. */
  readonly provider_name?: string | undefined;
}

/** What a ready queue delivers through. */
export interface ReadyQueueSpec {
  /** `<source>-><site>@<service>`. */
  readonly name: string;
  /** The `site` written in log records (`''` for drivers without ready queues, like maildir). */
  readonly logSite: string;
  readonly driver: AnyProtocolDriver;
  readonly options: unknown;
  readonly site: Site;
  /** The egress path as the policy gave it (automation's overrides are laid over it). */
  readonly path: EgressPathConfig;
  /** The routing domain the path was asked for (domain-scoped overrides match it). */
  readonly pathDomain: string;
  /** The egress source connections leave from (`unspecified`, setting nothing, by default). */
  readonly source: EgressSource;
  /** The log records' `egress_pool` and `egress_source` (null for drivers without ready queues). */
  readonly egress_pool: string | null;
  readonly egress_source: string | null;
  /** Milliseconds a send may take before the watchdog gives up on it. */
  readonly watchdogMs: number;
}

/** What a ready queue consults beyond its spec: throttles, limits and its suspension. */
export interface ReadyQueueShaping {
  readonly shaping: Shaping;
  /** The live suspension of a ready queue name, if any. */
  suspension(name: string): ReadySuspensionRule | undefined;
}

/** Since when (epoch ms) and why new connections wait. */
export interface WaitState {
  readonly since: number;
  readonly context: string;
}

/** KumoMTA's consecutive_connection_failures_before_delay. */
const FAILURES_BEFORE_BULK_DELAY = 100;

/** Why `stop()` aborts the sends in progress. */
const SHUTTING_DOWN = new Error('shutting down');

/** How often a queue blocked on a shared connection limit looks again without being told. */
const LIMIT_RECHECK_MS = 5000;

/**
 * The messages bound for one site, delivered by up to `connection_limit` dispatchers, each
 * holding one connection that carries up to `max_deliveries_per_connection` messages and
 * closes after `idle_timeout` without work.
 */
export class ReadyQueue {
  readonly spec: ReadyQueueSpec;
  readonly #deps: EngineDeps;
  readonly #dispositions: Dispositions;
  readonly #shaping: ReadyQueueShaping;
  /**
   * The messages waiting, from `#head` on; none (and no array) once the last is taken. This and
   * `#waiters` exist only while in use: an idle queue keeps no empty arrays.
   */
  #items: ReadyItem[] | undefined;
  #head = 0;
  /** Dispatchers waiting for a message (after a send, up to `idle_timeout`). */
  #waiters: ((more: boolean) => void)[] | undefined;
  /** The dispatchers running; none (and no set) while the queue is idle. */
  #running: Set<Promise<void>> | undefined;
  /** Set by `stop()`: nothing starts again. */
  #stopped = false;
  /**
   * Aborted by `stop()`, for the sends and waits in progress. Made when a dispatcher first needs
   * it and dropped when no dispatcher runs: an AbortSignal is ~770 bytes of heap, and an idle
   * queue (there may be 100,000 of them until the reaper comes) holds none.
   */
  #abort: AbortController | undefined;
  #path: EgressPathConfig;
  #connections = 0;
  #consecutiveFailures = 0;
  /** No dispatcher starts before this time (epoch ms): a throttle or limit holds the queue. */
  #blockedUntil = 0;
  #wake: NodeJS.Timeout | undefined;
  #unlisten: (() => void) | undefined;
  #connectionLimited: WaitState | undefined;
  #connectionRateThrottled: WaitState | undefined;

  constructor(
    spec: ReadyQueueSpec,
    deps: EngineDeps,
    dispositions: Dispositions,
    shaping: ReadyQueueShaping,
  ) {
    this.spec = spec;
    this.#path = spec.path;
    this.#deps = deps;
    this.#dispositions = dispositions;
    this.#shaping = shaping;
  }

  /** The egress path in effect (the policy's, with automation's overrides). */
  get path(): EgressPathConfig {
    return this.#path;
  }

  /** Replaces the path in effect (an override came or went); new connections use it. */
  setPath(path: EgressPathConfig): void {
    this.#path = path;
    this.wake();
  }

  /** Why new connections wait on a shared limit, if they do. */
  get connectionLimited(): WaitState | undefined {
    return this.#connectionLimited;
  }

  /** Why new connections wait on max_connection_rate, if they do. */
  get connectionRateThrottled(): WaitState | undefined {
    return this.#connectionRateThrottled;
  }

  /** Looks again for work it may start now (a suspension lifted, a limit freed, a path changed). */
  wake(): void {
    this.#blockedUntil = 0;
    clearTimeout(this.#wake);
    this.#wake = undefined;
    this.#unlisten?.();
    this.#unlisten = undefined;
    if (this.size > 0) this.#maybeSpawn();
  }

  /** Messages waiting for a dispatcher. */
  get size(): number {
    return this.#items === undefined ? 0 : this.#items.length - this.#head;
  }

  /** Open connections. */
  get connections(): number {
    return this.#connections;
  }

  /** True when nothing waits and no dispatcher runs: the queue can be dropped. */
  get idle(): boolean {
    return this.size === 0 && this.#running === undefined;
  }

  /**
   * Adds a message. Unlike KumoMTA, a full ready queue (`max_ready`) does not send messages back
   * to the scheduled queue with up to a minute of delay: a waiting message is small metadata here
   * (its body stays in the spool), so overflow simply waits its turn in order.
   */
  enqueue(item: ReadyItem): void {
    if (this.size >= this.spec.path.max_ready) countReadyFull(this.spec.name);
    this.#items ??= [];
    this.#items.push(item);
    const waiter = this.#unwait();
    if (waiter) waiter(true);
    else this.#maybeSpawn();
  }

  /** Stops dispatching: waiting dispatchers end, in-flight sends get `graceMs` to finish. */
  async stop(graceMs: number): Promise<void> {
    this.#stopped = true;
    this.#abort?.abort(SHUTTING_DOWN);
    clearTimeout(this.#wake);
    this.#unlisten?.();
    const waiters = this.#waiters ?? [];
    this.#waiters = undefined;
    for (const waiter of waiters) waiter(false);
    const all = Promise.allSettled([...(this.#running ?? [])]);
    await Promise.race([all, new Promise((r) => setTimeout(r, graceMs).unref())]);
  }

  /** The messages waiting, for inspection. */
  items(): readonly ReadyItem[] {
    return this.#items?.slice(this.#head) ?? [];
  }

  /** Takes waiting messages matching `predicate` out of the queue (admin bounces). */
  removeWhere(predicate: (item: ReadyItem) => boolean): ReadyItem[] {
    const removed: ReadyItem[] = [];
    const kept: ReadyItem[] = [];
    for (const item of this.items()) (predicate(item) ? removed : kept).push(item);
    if (removed.length > 0) {
      this.#items = kept.length > 0 ? kept : undefined;
      this.#head = 0;
    }
    return removed;
  }

  /** Messages not yet handed to a dispatcher (they stay in the spool). */
  drain(): ReadyItem[] {
    const rest = this.#items?.slice(this.#head) ?? [];
    this.#items = undefined;
    this.#head = 0;
    return rest;
  }

  // KumoMTA's ramp: ceil(limit · (1 − e^(−0.023 · ready))), at most one per waiting message.
  #maybeSpawn(): void {
    if (this.#stopped) return;
    if (this.#blockedUntil > Date.now()) return;
    // A suspended queue starts nothing; the suspension's end wakes it.
    if (this.#shaping.suspension(this.spec.name)) return;
    const limit = this.#path.connection_limit;
    const ready = this.size;
    const wanted = Math.min(ready, Math.ceil(limit * (1 - Math.exp(-0.023 * ready))));
    this.#running ??= new Set();
    const running = this.#running;
    while (running.size < Math.max(1, wanted) && running.size < limit) {
      const run: Promise<void> = this.#dispatch()
        .catch((error: unknown) =>
          this.#deps.driverContext.logger.error(`dispatcher for ${this.spec.name} failed`, {
            error: errorText(error),
          }),
        )
        .finally(() => {
          running.delete(run);
          if (running.size === 0 && this.#running === running && !this.#stopped) {
            // The last dispatcher is gone: nothing listens to the signal any more.
            this.#running = undefined;
            this.#abort = undefined;
          }
          if (this.size > 0) this.#maybeSpawn();
        });
      running.add(run);
    }
    if (running.size === 0) this.#running = undefined;
  }

  #take(): ReadyItem | undefined {
    const items = this.#items;
    if (items === undefined || this.#head >= items.length) return undefined;
    const item = items[this.#head++];
    if (this.#head === items.length) {
      // Emptied: the items taken are let go now, not kept until the queue is reaped.
      this.#items = undefined;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > items.length) {
      items.splice(0, this.#head);
      this.#head = 0;
    }
    return item;
  }

  // Resolves true once a message is waiting, false after `idleMs` without one (or at stop).
  #waitForWork(idleMs: number): Promise<boolean> {
    if (this.size > 0) return Promise.resolve(true);
    if (idleMs <= 0 || this.#stopped) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter = (more: boolean) => {
        clearTimeout(timer);
        resolve(more);
      };
      const timer = setTimeout(() => {
        this.#unwait(waiter);
        resolve(false);
      }, idleMs);
      this.#waiters ??= [];
      this.#waiters.push(waiter);
    });
  }

  // Takes `which` out of the waiting dispatchers, or the first of them when not given; the array
  // goes with its last entry.
  #unwait(which?: (more: boolean) => void): ((more: boolean) => void) | undefined {
    const waiters = this.#waiters;
    if (waiters === undefined) return undefined;
    const at = which === undefined ? 0 : waiters.indexOf(which);
    const found = at >= 0 ? waiters.splice(at, 1)[0] : undefined;
    if (waiters.length === 0) this.#waiters = undefined;
    return found;
  }

  // With site batching (and no message throttle, which counts one message at a time): up to
  // maxSize messages, waiting up to maxLatency to gather minSize.
  async #nextBatch(throttled: boolean): Promise<ReadyItem[]> {
    const first = this.#take();
    if (!first) return [];
    const batch = this.spec.site.batch;
    if (!batch || batch.maxSize <= 1 || throttled) return [first];
    const items = [first];
    const deadline = Date.now() + batch.maxLatency * 1000;
    while (items.length < batch.maxSize) {
      const waitMs = items.length < batch.minSize ? deadline - Date.now() : 0;
      if (!(await this.#waitForWork(Math.max(0, waitMs)))) break;
      const next = this.#take();
      if (!next) continue;
      items.push(next);
    }
    return items;
  }

  // Holds new dispatchers until `ms` from now (a throttle), then looks again.
  #blockFor(ms: number): void {
    this.#blockedUntil = Date.now() + ms;
    clearTimeout(this.#wake);
    this.#wake = setTimeout(() => this.wake(), ms);
    this.#wake.unref();
  }

  // Holds new dispatchers until the limit `name` frees a lease: the queue waits in that limit's
  // line and is woken for one freed lease (plus a periodic look when the limits are shared with
  // other processes, whose releases this one is not told of).
  #blockOnLimit(name: string): void {
    const { limits } = this.#shaping.shaping;
    this.#blockedUntil = Number.POSITIVE_INFINITY;
    clearTimeout(this.#wake);
    if (!limits.seesEveryRelease) {
      this.#blockedUntil = Date.now() + LIMIT_RECHECK_MS;
      this.#wake = setTimeout(() => this.wake(), LIMIT_RECHECK_MS);
      this.#wake.unref();
    }
    this.#unlisten ??= limits.whenReleased(name, () => {
      this.#unlisten = undefined;
      if (this.#stopped) return false;
      if (this.size === 0) {
        // Nothing to send now: out of the line, and the next message starts a dispatcher.
        this.#blockedUntil = 0;
        return false;
      }
      this.wake();
      return true;
    });
  }

  // The connection gates, in KumoMTA's order: the connection limits (leases held for the
  // connection's life, smallest limit first), then max_connection_rate. Undefined when the
  // queue must wait. A gate that cannot be checked (a shared store unreachable) also waits.
  async #connectionGate(): Promise<Lease[] | undefined> {
    const path = this.#path;
    const { shaping } = this.#shaping;
    const leases: Lease[] = [];
    const release = () => {
      for (const lease of leases) lease.release();
    };
    for (const [name, limit] of this.#connectionLimits(path)) {
      let lease: Lease | undefined;
      try {
        lease = await shaping.limits.acquire(name, limit);
      } catch (error) {
        release();
        this.#connectionLimited ??= {
          since: Date.now(),
          context: `connection limit ${name} cannot be checked: ${errorText(error)}`,
        };
        this.#blockFor(SHARED_CHECK_RETRY_MS);
        return undefined;
      }
      if (!lease) {
        release();
        this.#connectionLimited ??= { since: Date.now(), context: `TooManyLeases for ${name}` };
        shaping.delayed('connectionLimited', this.spec.name);
        this.#blockOnLimit(name);
        return undefined;
      }
      leases.push(lease);
    }
    this.#connectionLimited = undefined;
    if (path.max_connection_rate) {
      let retryAfter: number | undefined;
      try {
        const result = await shaping.check(
          `connection-rate:${this.spec.name}`,
          path.max_connection_rate,
        );
        if (result.throttled) retryAfter = result.retryAfter ?? 1;
      } catch {
        retryAfter = SHARED_CHECK_RETRY_MS / 1000;
      }
      if (retryAfter !== undefined) {
        release();
        this.#connectionRateThrottled ??= {
          since: Date.now(),
          context: `max_connection_rate ${path.max_connection_rate}`,
        };
        shaping.delayed('connectionRate', this.spec.name);
        this.#blockFor(retryAfter * 1000);
        return undefined;
      }
    }
    this.#connectionRateThrottled = undefined;
    return leases;
  }

  // The leases a new connection takes, smallest limit first (the likeliest to refuse, so the
  // others are rarely held for nothing; KumoMTA's order): the additional limits (named; those
  // written 'local:N' under a name the shared store leaves to this node), and the path's own
  // connection_limit when limits are shared with other processes (here the dispatcher count
  // is that limit already), named after the ready queue, unless it was written 'local:N' or
  // the driver has no ready queues (maildir delivers inline: no site, no connection).
  #connectionLimits(path: EgressPathConfig): [name: string, limit: number][] {
    const additional = path.additional_connection_limits;
    const limits: [string, number][] = [];
    if (additional) {
      const local = path.local_connection_limits;
      for (const [name, limit] of Object.entries(additional))
        limits.push([local?.includes(name) ? `${LOCAL_LIMIT_PREFIX}${name}` : name, limit]);
    }
    if (
      !path.connection_limit_local &&
      !this.#shaping.shaping.limits.seesEveryRelease &&
      this.spec.driver.capabilities.readyQueue
    )
      limits.push([`connection_limit:${this.spec.name}`, path.connection_limit]);
    return limits.length > 1 ? limits.sort((a, b) => a[1] - b[1]) : limits;
  }

  // The message throttles: 0 when the next message may go now (and is counted), else the
  // milliseconds to wait. The path's own and the shared ones, smallest rate first.
  async #messageGate(): Promise<number> {
    const path = this.#path;
    const named = path.additional_message_rate_throttles;
    if (!path.max_message_rate && !named) return 0;
    const { shaping } = this.#shaping;
    const checks: [string, string][] = [];
    if (path.max_message_rate)
      checks.push([`message-rate:${this.spec.name}`, path.max_message_rate]);
    for (const [name, spec] of Object.entries(named ?? {}))
      checks.push([`message-rate:${name}`, spec]);
    let refused: Awaited<ReturnType<Shaping['firstRefusal']>>;
    try {
      refused = await shaping.firstRefusal(checks);
    } catch {
      // A shared throttle that cannot be checked holds the message, as a refusal would.
      return SHARED_CHECK_RETRY_MS;
    }
    if (!refused) return 0;
    shaping.delayed('readyMessageRate', this.spec.name);
    return Math.max(1, Math.ceil((refused.retryAfter ?? 1) * 1000));
  }

  // The signal `stop()` aborts (made on first use while dispatchers run).
  #signal(): AbortSignal {
    if (!this.#abort) {
      this.#abort = new AbortController();
      // Every dispatcher's send listens to it while it runs.
      setMaxListeners(0, this.#abort.signal);
      if (this.#stopped) this.#abort.abort(SHUTTING_DOWN);
    }
    return this.#abort.signal;
  }

  #sleep(ms: number): Promise<void> {
    const signal = this.#signal();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  #info(item: ReadyItem, sessionId: string | undefined, message?: Message): AttemptInfo {
    return {
      site: this.spec.logSite,
      delivery_protocol: this.spec.driver.deliveryProtocol,
      egress_pool: this.spec.egress_pool,
      egress_source: this.spec.egress_source,
      session_id: sessionId,
      retry: item.retry,
      provider_name: item.provider_name,
      ready_queue: this.spec.name,
      message,
    };
  }

  async #dispatch(): Promise<void> {
    const { driver, site, options, source } = this.spec;
    let connection: ManagedConnection | undefined;
    let leases: Lease[] = [];
    let sessionId = randomUUID();
    let sent = 0;
    // The connection's leases are released once it has closed (QUIT answered), never before:
    // a shared limit must not let another queue connect while this one is still saying goodbye.
    const close = async () => {
      const open = connection;
      const held = leases;
      connection = undefined;
      leases = [];
      try {
        if (open) {
          this.#connections--;
          await open.close();
        }
      } finally {
        for (const lease of held) lease.release();
      }
    };
    try {
      for (;;) {
        if (this.#stopped) break;
        // A suspension stops the queue's dispatchers after the message in hand.
        if (this.#shaping.suspension(this.spec.name)) break;
        const path = this.#path;
        if (!(await this.#waitForWork(connection ? path.idle_timeout * 1000 : 0))) break;
        // A suspension made while this dispatcher idled on its connection holds the message too.
        if (this.#shaping.suspension(this.spec.name)) break;
        if (!connection) {
          const gate = await this.#connectionGate();
          if (!gate) break;
          leases = gate;
        }
        const wait = await this.#messageGate();
        if (wait > 0) {
          // A short wait keeps the connection; a longer one than idle_timeout closes it and
          // holds the queue until the throttle allows the next message (KumoMTA's rule).
          if (connection && wait <= path.idle_timeout * 1000) {
            await this.#sleep(wait);
            continue;
          }
          this.#blockFor(wait);
          break;
        }
        if (!connection) {
          const opened = await openConnection(
            driver,
            site,
            options,
            tracedContext(this.#deps.driverContext, this.spec),
            path,
            source,
          );
          if (isDeliveryFailure(opened)) {
            for (const lease of leases) lease.release();
            leases = [];
            for (const each of await this.#nextBatch(false))
              await this.#connectFailed(each, opened, sessionId);
            break;
          }
          this.#consecutiveFailures = 0;
          this.#connections++;
          countConnection(this.spec.name);
          connection = opened;
        }
        const throttled = Boolean(path.max_message_rate || path.additional_message_rate_throttles);
        const items = await this.#nextBatch(throttled);
        if (items.length === 0) continue;
        await this.#deliver(connection, items, sessionId);
        sent += items.length;
        if (!connection.isUsable() || sent >= path.max_deliveries_per_connection) {
          await close();
          sessionId = randomUUID();
          sent = 0;
        }
      }
    } finally {
      await close();
    }
  }

  async #connectFailed(
    item: ReadyItem,
    failure: Parameters<Dispositions['fail']>[1],
    sessionId: string,
  ): Promise<void> {
    await this.#dispositions.fail(item.message, failure, this.#info(item, sessionId));
    this.#consecutiveFailures++;
    // A permanent refusal (a prohibited host) holds for everything bound here; and after many
    // failed connections in a row, the rest waits on the schedule instead of hammering the site.
    let flush = failure.kind === 'permanent' ? failure : undefined;
    if (!flush && this.#consecutiveFailures >= FAILURES_BEFORE_BULK_DELAY) {
      flush = {
        kind: 'transient',
        response: makeResponse(
          451,
          '4.4.1 bulk delay of ready queue: too many successive connection failures where there was no answer from any hosts listed in MX',
        ),
      };
      this.#consecutiveFailures = 0;
    }
    if (flush) {
      for (const rest of this.drain())
        await this.#dispositions.fail(rest.message, flush, this.#info(rest, undefined));
    }
  }

  async #deliver(
    connection: ManagedConnection,
    items: readonly ReadyItem[],
    sessionId: string,
  ): Promise<void> {
    const loaded: { item: ReadyItem; message: Message }[] = [];
    for (const item of items) {
      const queued = item.message;
      try {
        const data = await this.#deps.spool.read(queued.id);
        const message = createMessage({
          id: queued.id,
          sender: queued.sender,
          recipients: queued.recipients,
          data,
          queue: queued.queue,
          num_attempts: queued.num_attempts,
          meta: queued.meta,
        });
        loaded.push({ item, message });
      } catch (error) {
        await this.#dispositions.fail(
          queued,
          internalFailure(`failed to read message from spool: ${errorText(error)}`),
          this.#info(item, sessionId),
        );
      }
    }
    if (loaded.length === 0) return;
    const messages = loaded.map((l) => l.message);
    const results = await this.#sendWithWatchdog(connection, messages);
    for (const [i, { item, message }] of loaded.entries()) {
      item.message.meta = keepMeta(item.message.meta, message.metaObject());
      await this.#dispositions.apply(
        item.message,
        results[i] ?? [],
        this.#info(item, sessionId, message),
      );
    }
  }

  // A send that outlives the watchdog is abandoned (its connection with it) and retried later,
  // so one wedged peer or policy cannot stall the queue.
  async #sendWithWatchdog(
    connection: ManagedConnection,
    messages: readonly Message[],
  ): Promise<Outcome[][]> {
    // One controller per send, aborted by the watchdog or by the queue's own abort. (Not
    // AbortSignal.any: in Node 20 it costs ~10 µs per send and keeps bookkeeping on the
    // long-lived queue signal.)
    const send = new AbortController();
    const { signal } = send;
    const queueSignal = this.#signal();
    const onQueueAbort = () => send.abort(queueSignal.reason);
    if (queueSignal.aborted) onQueueAbort();
    else queueSignal.addEventListener('abort', onQueueAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<Outcome[][]>((resolve) => {
      timer = setTimeout(() => {
        countWatchdogAbort(this.spec.name);
        send.abort(new Error('dispatcher watchdog'));
        void connection.close();
        const response = makeResponse(
          451,
          `4.4.1 dispatcher watchdog aborted task; detail="${this.spec.driver.protocol}: send"`,
        );
        resolve(
          messages.map((m) =>
            m.recipients.map((recipient) => ({ recipient, kind: 'transient' as const, response })),
          ),
        );
      }, this.spec.watchdogMs);
    });
    // With batch_size > 1 every call goes through send_batch, even with one message (KumoMTA).
    const batching = (this.spec.site.batch?.maxSize ?? 1) > 1;
    const timed = timeDelivery(this.spec.name);
    const work = batching
      ? connection.sendBatch(messages, { signal })
      : connection.send(messages[0]!, { signal }).then((outcomes) => [outcomes]);
    try {
      return await Promise.race([work, expired]);
    } finally {
      timed();
      clearTimeout(timer);
      queueSignal.removeEventListener('abort', onQueueAbort);
    }
  }
}
