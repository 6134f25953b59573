import { request } from './api.js';

// The replies of KumoMTA's admin API as the dashboard reads them (mounted under `api/admin/`),
// after apps/mta/src/http/reply-schemas.ts.

/** Which scheduled queues a rule acts on. */
export interface Selector {
  readonly domain?: string;
  readonly routing_domain?: string;
  readonly tenant?: string;
  readonly campaign?: string;
  readonly queue_names?: readonly string[];
}

/** An active suspension or bounce rule (`GET suspend/v1`, `GET bounce/v1`). */
export interface AdminRule extends Selector {
  readonly id: string;
  readonly reason: string;
  /** Seconds left. */
  readonly duration: number;
}

/** An active ready-queue suspension (`GET suspend-ready-q/v1`). */
export interface ReadyQueueSuspension {
  readonly id: string;
  readonly name: string;
  readonly reason: string;
  /** Time left, humantime text. */
  readonly duration: string;
  /** RFC 3339 end time. */
  readonly expires: string;
}

/** `POST bounce/v1`. */
export interface BounceReply {
  readonly id: string;
  readonly bounced: Readonly<Record<string, number>>;
  readonly total_bounced: number;
}

/** One message of `GET inspect-sched-q/v1`. */
export interface QueuedMessage {
  readonly id: string;
  readonly message: {
    readonly sender: string;
    readonly recipient: string | readonly string[];
    /** RFC 3339 time of the next attempt. */
    readonly due: string;
    readonly num_attempts: number;
  };
}

/** `GET inspect-sched-q/v1`. */
export interface ScheduledQueueInspection {
  readonly queue_name: string;
  readonly messages: readonly QueuedMessage[];
  readonly num_scheduled: number;
  readonly now: string;
}

/** What Suspend, Bounce and Rebind send besides their selector. */
export interface RuleBody {
  readonly domain?: string;
  readonly tenant?: string;
  readonly campaign?: string;
  readonly reason: string;
}

export const inspectScheduledQueue = (name: string, signal?: AbortSignal) =>
  request<ScheduledQueueInspection>('GET', 'api/admin/inspect-sched-q/v1', {
    query: { queue_name: name, limit: 100 },
    ...(signal ? { signal } : {}),
  });

export const listSuspensions = () => request<AdminRule[]>('GET', 'api/admin/suspend/v1');
export const listBounces = () => request<AdminRule[]>('GET', 'api/admin/bounce/v1');
export const listReadySuspensions = () =>
  request<ReadyQueueSuspension[]>('GET', 'api/admin/suspend-ready-q/v1');

export const suspend = (body: RuleBody & { duration: number }) =>
  request<{ id: string }>('POST', 'api/admin/suspend/v1', { body });
export const bounce = (body: RuleBody & { duration: number }) =>
  request<BounceReply>('POST', 'api/admin/bounce/v1', { body });
export const suspendReadyQueue = (body: { name: string; reason: string; duration: number }) =>
  request<{ id: string }>('POST', 'api/admin/suspend-ready-q/v1', { body });
export const rebind = (body: RuleBody & { data: Record<string, string> }) =>
  request<Record<string, never>>('POST', 'api/admin/rebind/v1', { body });

/** The three kinds of rule a DELETE cancels. */
export type LeverKind = 'suspend' | 'bounce' | 'suspend-ready-q';
export const cancelLever = (kind: LeverKind, id: string) =>
  request<Record<string, never>>('DELETE', `api/admin/${kind}/v1`, { body: { id } });
