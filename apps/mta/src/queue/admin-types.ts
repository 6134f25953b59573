import type { MetaValue } from '@sterna/core';

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
}
