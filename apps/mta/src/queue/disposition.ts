import {
  type DeliveryFailure,
  failAll,
  type HeaderField,
  type Message,
  makeResponse,
  type Outcome,
} from '@sterna/core';
import {
  buildLogRecord,
  type LogRecordType,
  parseHeaders,
  planRetry,
  type RetryPolicy,
  spoolIdTime,
} from '@sterna/core/engine';
import { countOutcome } from '../observe/telemetry.js';
import type { SpoolEntry } from '../spool/index.js';
import type { EngineCounters, EngineDeps, QueuedMessage } from './types.js';

/** Where an attempt went, for its log records (their keys, as KumoMTA names them). */
export interface AttemptInfo {
  /** The log `site`: the ready queue name, or `''` (maildir, scheduled-queue failures). */
  readonly site: string;
  readonly delivery_protocol: string | null;
  readonly egress_pool: string | null;
  readonly egress_source: string | null;
  readonly session_id?: string | undefined;
  readonly retry: RetryPolicy;
  readonly provider_name?: string | undefined;
  /** The ready queue the attempt went through (`<source>-><site>@<service>`), for metrics. */
  readonly ready_queue?: string | undefined;
  /** The message, when its data was loaded (its headers are parsed only if a sink wants them). */
  readonly message?: Message | undefined;
}

/** An attempt that never left its scheduled queue (no site, no protocol, no egress). */
export function scheduledAttempt(retry: RetryPolicy): AttemptInfo {
  return { site: '', delivery_protocol: null, egress_pool: null, egress_source: null, retry };
}

const RECORD_TYPE = {
  delivered: 'Delivery',
  transient: 'TransientFailure',
  permanent: 'Bounce',
} as const;

/**
 * Turns an attempt's outcomes into log records and the message's next state: removed from the
 * spool when nothing is left to try, expired, or requeued on the schedule (or a driver's own
 * `retryAfter`).
 */
export class Dispositions {
  readonly #deps: EngineDeps;
  readonly #requeue: (message: QueuedMessage) => void;
  readonly #removed: (id: string) => void;
  readonly #counters: EngineCounters;
  readonly #now: () => number;

  constructor(
    deps: EngineDeps,
    engine: {
      /** Puts a message back on the schedule for its next attempt. */
      requeue(message: QueuedMessage): void;
      /** Told when a message has left the spool (delivered, bounced, expired). */
      removed(id: string): void;
    },
    counters: EngineCounters,
  ) {
    this.#deps = deps;
    this.#requeue = engine.requeue;
    this.#removed = engine.removed;
    this.#counters = counters;
    this.#now = deps.now ?? Date.now;
  }

  /** Applies a failure that happened before anything was sent to every recipient. */
  fail(message: QueuedMessage, failure: DeliveryFailure, info: AttemptInfo): Promise<void> {
    return this.apply(message, failAll(message.recipients, failure), info);
  }

  /** Logs one record per distinct response, then removes, expires or requeues the message. */
  async apply(
    message: QueuedMessage,
    outcomes: readonly Outcome[],
    info: AttemptInfo,
  ): Promise<void> {
    const headers = await this.#headersOf(message, info);
    const groups = new Map<string, Outcome[]>();
    for (const outcome of outcomes) {
      const key = JSON.stringify([
        outcome.kind,
        outcome.response,
        outcome.peer ?? null,
        outcome.source_address ?? null,
      ]);
      const group = groups.get(key);
      if (group) group.push(outcome);
      else groups.set(key, [outcome]);
    }
    for (const group of groups.values()) {
      const first = group[0]!;
      this.#log(
        RECORD_TYPE[first.kind],
        message,
        group.map((o) => o.recipient),
        first,
        info,
        headers,
      );
      if (first.kind === 'delivered') this.#counters.delivered += group.length;
      else if (first.kind === 'permanent') this.#counters.bounced += group.length;
      else this.#counters.transientFailures += group.length;
      countOutcome(first.kind, group.length, info);
    }

    const transient = outcomes.filter((o) => o.kind === 'transient');
    if (transient.length === 0) {
      await this.#remove(message.id);
      return;
    }
    message.recipients = transient.map((o) => o.recipient);
    const now = this.#now();
    const retryAfters = transient
      .map((o) => o.retryAfter)
      .filter((s): s is number => s !== undefined);
    const decision =
      retryAfters.length > 0
        ? this.#retryAfter(message, Math.max(...retryAfters), info.retry, now)
        : planRetry({
            policy: info.retry,
            num_attempts: message.num_attempts,
            created: spoolIdTime(message.id),
            now,
            expires: message.expires,
            random: this.#deps.random,
          });
    if (decision.kind === 'expire') {
      this.#counters.expired += message.recipients.length;
      this.#log(
        'Expiration',
        message,
        message.recipients,
        {
          response: makeResponse(551, decision.reason, {
            enhanced: { class: 5, subject: 4, detail: 7 },
          }),
        },
        { ...info, site: '', delivery_protocol: null, egress_source: null, session_id: undefined },
        headers,
      );
      await this.#remove(message.id);
      return;
    }
    message.num_attempts = decision.num_attempts;
    message.due = decision.due;
    await this.#deps.spool.update(toSpoolEntry(message));
    this.#requeue(message);
  }

  /**
   * Logs a TransientFailure for every recipient and holds the message until `due` without
   * counting an attempt (a suspension: the message did not try, and must not back off).
   */
  async hold(
    message: QueuedMessage,
    failure: DeliveryFailure,
    info: AttemptInfo,
    due: number,
  ): Promise<void> {
    const headers = await this.#headersOf(message, info);
    this.#log('TransientFailure', message, message.recipients, failure, info, headers);
    this.#counters.transientFailures += message.recipients.length;
    countOutcome('transient', message.recipients.length, info);
    message.due = due;
    this.#requeue(message);
  }

  async #remove(id: string): Promise<void> {
    await this.#deps.spool.remove(id);
    this.#removed(id);
  }

  // A driver's own retry-after (maildir: about a minute) replaces the schedule; the attempt
  // still counts and the message still expires at max_age.
  #retryAfter(message: QueuedMessage, seconds: number, retry: RetryPolicy, now: number) {
    const due = now + seconds * 1000;
    const num_attempts = message.num_attempts + 1;
    const expired =
      message.expires !== undefined
        ? due >= message.expires
        : (due - spoolIdTime(message.id)) / 1000 > retry.max_age;
    if (expired) {
      return {
        kind: 'expire' as const,
        num_attempts,
        reason: `Next delivery time would be after the message's max_age of ${retry.max_age}s`,
      };
    }
    return { kind: 'retry' as const, due, num_attempts, delay: seconds };
  }

  /** Writes one log record for the message (the engine's other records: AdminBounce). */
  log(
    type: LogRecordType,
    message: QueuedMessage,
    recipients: readonly string[],
    outcome: Pick<Outcome, 'response' | 'peer' | 'tls' | 'source_address'>,
    info: AttemptInfo,
  ): void {
    this.#log(type, message, recipients, outcome, info, []);
  }

  #log(
    type: LogRecordType,
    message: QueuedMessage,
    recipients: readonly string[],
    outcome: Pick<Outcome, 'response' | 'peer' | 'tls' | 'source_address'>,
    info: AttemptInfo,
    headers: readonly HeaderField[],
  ): void {
    const record = buildLogRecord({
      type,
      id: message.id,
      sender: message.sender,
      recipient: recipients,
      queue: message.queue,
      site: info.site,
      size: message.size,
      response: outcome.response,
      peer_address: outcome.peer ?? null,
      time: this.#now(),
      created: spoolIdTime(message.id),
      num_attempts: message.num_attempts,
      egress_pool: info.egress_pool,
      egress_source: info.egress_source,
      source_address: outcome.source_address ?? null,
      delivery_protocol: info.delivery_protocol,
      reception_protocol:
        typeof message.meta.reception_protocol === 'string'
          ? message.meta.reception_protocol
          : null,
      nodeid: this.#deps.nodeId,
      ...(outcome.tls ? { tls: outcome.tls } : {}),
      ...(info.provider_name ? { provider_name: info.provider_name } : {}),
      ...(info.session_id ? { session_id: info.session_id } : {}),
    });
    this.#deps.logs.write(record, { meta: message.meta, headers });
  }

  // Headers for log records: none when no sink records them; from the loaded message when there
  // is one; read back from the spool only for failures that happened before loading.
  async #headersOf(message: QueuedMessage, info: AttemptInfo): Promise<readonly HeaderField[]> {
    if (this.#deps.recordHeaders === false) return [];
    if (info.message) return info.message.allHeaders();
    try {
      return parseHeaders(await this.#deps.spool.read(message.id));
    } catch {
      return [];
    }
  }
}

/** The spool's view of a queued message. */
export function toSpoolEntry(message: QueuedMessage): SpoolEntry {
  return {
    id: message.id,
    sender: message.sender,
    recipients: message.recipients,
    meta: message.meta,
    size: message.size,
    due: message.due,
    num_attempts: message.num_attempts,
  };
}
