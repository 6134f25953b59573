import type { EgressPathConfig, MetaValue } from '@sterna/core';

/** Which queued messages an admin rule matches (all given fields must match). */
export interface QueueSelector {
  readonly domain?: string | undefined;
  readonly routing_domain?: string | undefined;
  readonly tenant?: string | undefined;
  readonly campaign?: string | undefined;
  /** Exact scheduled queue names. */
  readonly queue_names?: readonly string[] | undefined;
}

/** `POST /api/admin/bounce/v1`. */
export interface BounceRequest extends QueueSelector {
  readonly reason: string;
  /** Seconds the rule keeps bouncing new matches. @default 300 */
  readonly duration?: number | undefined;
  readonly suppress_logging?: boolean | undefined;
}

/** `POST /api/admin/suspend/v1`. */
export interface SuspendRequest extends QueueSelector {
  readonly reason: string;
  /** Seconds. @default 300 */
  readonly duration?: number | undefined;
}

/** An active rule, as the list endpoints return it. */
export interface AdminRule extends QueueSelector {
  readonly id: string;
  readonly reason: string;
  /** Seconds left. */
  readonly duration: number;
}

/** `GET /api/admin/inspect-message/v1`. */
export interface InspectedMessage {
  readonly id: string;
  readonly message: {
    readonly sender: string;
    readonly recipient: string | readonly string[];
    readonly meta: Readonly<Record<string, MetaValue>>;
    readonly data?: string | undefined;
    readonly due?: string | undefined;
    readonly num_attempts: number;
  };
}

/** `POST /api/admin/suspend-ready-q/v1`. */
export interface SuspendReadyQueueRequest {
  /** The ready queue's name, `<source>-><site>@<protocol>`. */
  readonly name: string;
  readonly reason: string;
  /** Seconds. @default 300 */
  readonly duration?: number | undefined;
}

/** An active ready-queue suspension, as the list endpoint returns it. */
export interface ReadyQueueSuspension {
  readonly id: string;
  readonly name: string;
  readonly reason: string;
  /** Seconds left. */
  readonly duration: number;
  /** RFC 3339 end time. */
  readonly expires: string;
}

/** `POST /api/admin/rebind/v1`: which scheduled queues, and what to apply to their messages. */
export interface RebindRequest {
  readonly domain?: string | undefined;
  readonly routing_domain?: string | undefined;
  readonly tenant?: string | undefined;
  readonly campaign?: string | undefined;
  readonly reason: string;
  /** Applied to each message's meta (unless `trigger_rebind_event`, which hands it to the event). */
  readonly data: Readonly<Record<string, string>>;
  /** Every matched message is due now (by default only those whose queue changed). */
  readonly always_flush?: boolean | undefined;
  readonly suppress_logging?: boolean | undefined;
  /** Fire `rebind_message(msg, data)` for each message instead of applying `data` to its meta. */
  readonly trigger_rebind_event?: boolean | undefined;
}

/** One waiting message, as the inspection endpoints see it (its body stays in the spool). */
export interface ViewedMessage {
  readonly id: string;
  readonly sender: string;
  readonly recipients: readonly string[];
  readonly meta: Readonly<Record<string, MetaValue>>;
  /** Epoch ms of its next attempt. */
  readonly due: number;
  readonly num_attempts: number;
  readonly queue: string;
}

/** A ready queue as the inspection endpoints see it. */
export interface ReadyQueueView {
  /** `<source>-><site>@<protocol>`. */
  readonly name: string;
  /** The MX site name (empty for drivers without ready queues). */
  readonly site: string;
  /** The protocol part of the name (`smtp_client`, `lua:<constructor>`, …). */
  readonly protocol: string;
  readonly egress_pool: string | null;
  readonly egress_source: string | null;
  /** The egress path in effect, overrides from automation applied. */
  readonly path: EgressPathConfig;
  readonly ready_count: number;
  readonly connection_count: number;
  /** The waiting messages, in order (up to `limit`). */
  messages(limit: number): ViewedMessage[];
  /** Its live suspension, if any. */
  readonly suspended: ReadyQueueSuspension | undefined;
  /** Since when (epoch ms) and why new connections wait on a limit, if they do. */
  readonly connection_limited: { readonly since: number; readonly context: string } | undefined;
  /** Since when and why new connections wait on `max_connection_rate`, if they do. */
  readonly connection_rate_throttled:
    | { readonly since: number; readonly context: string }
    | undefined;
}

/** What `resolve-egress-path` resolves for a (domain, source) pair. */
export interface ResolvedEgressPath {
  readonly domain: string;
  readonly source: string;
  /** The ready queue name it would use. */
  readonly queue_name: string;
  readonly site_name: string;
  readonly queue_config: Readonly<Record<string, unknown>>;
  readonly path_config: EgressPathConfig;
}

/** What the inspection endpoints read from the engine: live views, no changes. */
export interface QueueView {
  /** Scheduled queue names with their message counts. */
  scheduledQueues(): ReadonlyMap<string, number>;
  /** The config a scheduled queue last resolved to, and when (epoch ms), if it did. */
  scheduledQueueInfo(
    queue: string,
  ):
    | { readonly queue_config: Readonly<Record<string, unknown>>; readonly last_changed: number }
    | undefined;
  /** The waiting messages of one scheduled queue (up to `limit`), soonest due first. */
  scheduledMessages(queue: string, limit: number): ViewedMessage[];
  /** The ready queues that exist now. */
  readyQueues(): readonly ReadyQueueView[];
  /**
   * Asks the policy, as a message for `domain` leaving from `source` would: queue config, MX
   * site, egress path (with automation overrides).
   */
  resolveEgressPath(domain: string, source: string): Promise<ResolvedEgressPath>;
}

/** An egress path override automation made (`SetConfig`, `SetDomainConfig`), as listed. */
export interface PathOverrideEntry {
  readonly id: string;
  /** The path it changes: one source and site name, or every path to a domain. */
  readonly scope: { readonly source: string; readonly site: string } | { readonly domain: string };
  /** The egress path key and its value while the override lasts. */
  readonly name: string;
  readonly value: unknown;
  readonly reason: string;
  /** Seconds left. */
  readonly duration: number;
  /** RFC 3339 end time. */
  readonly expires: string;
}

/** What the queue engine offers the admin HTTP endpoints. */
export interface AdminApi {
  /** Bounces matching queued messages (AdminBounce records) and keeps bouncing new ones for `duration`. */
  bounce(request: BounceRequest): {
    id: string;
    bounced: Record<string, number>;
    total_bounced: number;
  };
  listBounces(): AdminRule[];
  /** True when the rule existed. */
  cancelBounce(id: string): boolean;
  /** Holds matching scheduled queues for `duration`: due messages get a TransientFailure and wait. */
  suspend(request: SuspendRequest): { id: string };
  listSuspensions(): AdminRule[];
  cancelSuspension(id: string): boolean;
  /** A queued message, or undefined when no such id is queued. */
  inspectMessage(id: string, wantBody: boolean): Promise<InspectedMessage | undefined>;
  /** Holds a ready queue (and any made under that name) for `duration`; its messages wait. */
  suspendReadyQueue(request: SuspendReadyQueueRequest): { id: string };
  listReadyQueueSuspensions(): ReadyQueueSuspension[];
  /** True when it existed; the queue's messages go at once. */
  cancelReadyQueueSuspension(id: string): boolean;
  /**
   * Re-evaluates matching scheduled messages' queues after applying `data` (or the
   * `rebind_message` event); writes `AdminRebind` records unless suppressed.
   */
  rebind(request: RebindRequest): Promise<{ rebound: number }>;
  /** The live egress path overrides automation made. */
  listPathOverrides(): PathOverrideEntry[];
  /** Live views for the inspection endpoints. */
  readonly view: QueueView;
}

/** Figures for `/metrics`. */
export interface EngineStats {
  readonly counters: {
    readonly received: number;
    readonly delivered: number;
    readonly transientFailures: number;
    readonly bounced: number;
    readonly expired: number;
  };
  /** Messages held: spooled and not yet delivered, bounced or expired. */
  readonly messages: number;
  /** Messages waiting per scheduled queue. */
  readonly scheduled: Readonly<Record<string, number>>;
  /** Messages and connections per ready queue. */
  readonly ready: Readonly<
    Record<string, { readonly messages: number; readonly connections: number }>
  >;
  /** Delays by throttles and limits: per scheduled queue (messageRate) or per ready queue. */
  readonly delays?: {
    readonly messageRate: Readonly<Record<string, number>>;
    readonly throttleInsert: Readonly<Record<string, number>>;
    readonly readyMessageRate: Readonly<Record<string, number>>;
    readonly connectionRate: Readonly<Record<string, number>>;
    readonly connectionLimited: Readonly<Record<string, number>>;
  };
}
