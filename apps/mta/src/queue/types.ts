import type {
  DriverContext,
  EgressPathConfig,
  EgressSource,
  Envelope,
  HeaderField,
  MetaValue,
  PolicyHost,
  QueueNameParts,
} from '@sterna/core';
import type { DriverRegistry, LogRecord, RetryPolicy } from '@sterna/core/engine';
import type { Spool } from '../spool/index.js';
import type { ShapingStores } from './shaping.js';
import type { ShapingStateFile } from './shaping-state.js';

/**
 * A message waiting in a queue: core's {@link Envelope} (its recipients the ones still to be
 * delivered, envelope and meta mutable as the policy and partial deliveries change them) and
 * the scheduling state; the bytes stay in the spool.
 */
export interface QueuedMessage extends Envelope {
  sender: string;
  recipients: string[];
  meta: Record<string, MetaValue>;
  readonly size: number;
  /** Failed attempts so far. */
  num_attempts: number;
  /** Epoch ms of the next attempt. */
  due: number;
  /** The scheduled queue name. */
  queue: string;
  /** A per-message expiry (`set_scheduling{expires}`), epoch ms. */
  expires?: number | undefined;
}

/**
 * What the engine needs of a queue's configuration: the keys of `kumo.make_queue_config` it
 * reads, as KumoMTA spells them (durations in seconds). The retry keys make it a
 * {@link RetryPolicy} itself.
 */
export interface EngineQueueConfig extends RetryPolicy {
  /** The raw `protocol` table; the driver registry validates it. */
  readonly protocol: unknown;
  readonly egress_pool?: string | undefined;
  /** Seconds the config stays valid. */
  readonly refresh_interval: number;
  readonly provider_name?: string | undefined;
  /** A throttle on moving this queue's messages to their ready queue (`'100/h'`). */
  readonly max_message_rate?: string | undefined;
}

/** An egress pool (`kumo.make_egress_pool`): weighted source names, `ttl` in seconds. */
export interface EgressPoolConfig {
  readonly name: string;
  readonly entries: readonly { readonly name: string; readonly weight: number }[];
  readonly ttl: number;
}

/** An egress source (`kumo.make_egress_source`), `ttl` in seconds. */
export interface EgressSourceConfig extends EgressSource {
  readonly ttl: number;
}

/** What the engine asks of the operator's policy. */
export interface EnginePolicy {
  queueConfig(queue: string, parts: QueueNameParts): Promise<EngineQueueConfig>;
  egressPath(routingDomain: string, source: string, siteName: string): Promise<EgressPathConfig>;
  /**
   * `get_egress_pool(name)`. Never asked for `unspecified`. Without it, a queue naming any
   * other pool cannot be delivered (a transient failure naming the pool).
   */
  egressPool?(name: string): Promise<EgressPoolConfig>;
  /** `get_egress_source(name)`. Never asked for `unspecified`. */
  egressSource?(name: string): Promise<EgressSourceConfig>;
  /** Drivers that call back into the policy (custom_lua) use this. */
  readonly host?: PolicyHost | undefined;
  /**
   * `rebind_message(msg, data)` for an admin rebind with `trigger_rebind_event`: the message as
   * the policy left it (its meta, sender, recipients). Without it, such a rebind fails.
   */
  /**
   * `throttle_insert_ready_queue(msg)` as a message moves to its ready queue: the due time the
   * policy set (`msg:set_due`, e.g. `throttle:delay_message_if_throttled(msg)`), if it set one.
   * Undefined, without reading the message, when the policy has no such handler.
   */
  throttleInsertReadyQueue?(
    message: QueuedMessage,
    read: () => Promise<Uint8Array>,
  ): Promise<number | undefined> | undefined;
  rebindMessage?(
    message: QueuedMessage,
    data: Readonly<Record<string, string>>,
    bytes: Uint8Array,
  ): Promise<Pick<QueuedMessage, 'sender' | 'recipients' | 'meta'>>;
}

/** Headers and meta a log writer may copy into a record. */
export interface RecordContext {
  readonly meta: Record<string, MetaValue>;
  readonly headers: readonly HeaderField[];
}

/** Where log records go (local files, log hooks). */
export interface RecordSink {
  write(record: LogRecord, context?: RecordContext): void;
}

/** Counters for metrics. */
export interface EngineCounters {
  received: number;
  delivered: number;
  transientFailures: number;
  bounced: number;
  expired: number;
}

/** Everything the queue engine is built from. */
export interface EngineDeps {
  readonly spool: Spool;
  readonly policy: EnginePolicy;
  readonly registry: DriverRegistry;
  readonly logs: RecordSink;
  /** The context drivers get (resolver from `kumo.dns.configure_resolver`, logger, shutdown signal). */
  readonly driverContext: DriverContext;
  readonly nodeId: string;
  /**
   * Whether any log sink copies message headers into records (`headers` lists of local logs or
   * log hooks). When false, headers are neither parsed nor read back from the spool for records.
   * @default true
   */
  readonly recordHeaders?: boolean;
  readonly now?: () => number;
  readonly random?: () => number;
  /** Where throttles and connection limits are kept. @default this process's memory */
  readonly shapingStores?: Partial<ShapingStores> | undefined;
  /** Where suspensions, bounce rules and path overrides are kept across restarts. */
  readonly stateFile?: ShapingStateFile | undefined;
}
