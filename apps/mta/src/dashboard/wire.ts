/**
 * What the dashboard's endpoints send, as JSON: the daemon's side writes these shapes and the
 * browser app (apps/mta/ui) reads them with `import type`. Types only: nothing here runs.
 *
 * Times are epoch milliseconds unless a name says otherwise.
 */

/** Message counts since the daemon started (EngineStats' counters). */
export interface Totals {
  readonly received: number;
  readonly delivered: number;
  readonly transient: number;
  readonly bounced: number;
  readonly expired: number;
}

/** One second of the overview chart: what happened in the second that ended at `t`. */
export interface RateSample {
  readonly t: number;
  readonly received: number;
  readonly delivered: number;
  readonly transient: number;
  /** Bounces and expirations. */
  readonly bounced: number;
}

/** A directory whose free space is watched (the spools, the log directories). */
export interface DiskUse {
  /** `data spool`, `meta spool`, `log dir /var/log/kumo`… (the metrics' `name` label). */
  readonly name: string;
  readonly path: string;
  readonly total_bytes: number;
  readonly free_bytes: number;
  readonly free_percent: number;
  readonly free_inodes_percent: number;
}

/** The overview page. */
export interface Overview {
  readonly node_id: string;
  /** `@sterna/mta`'s version. */
  readonly version: string;
  readonly started_at: number;
  readonly now: number;
  readonly totals: Totals;
  /** Spooled and not yet delivered, bounced or expired. */
  readonly held: number;
  /** Messages waiting in scheduled queues, and in ready queues. */
  readonly scheduled: number;
  readonly ready: number;
  /** Open delivery connections. */
  readonly connections: number;
  /** Active admin levers: scheduled-queue suspensions, ready-queue suspensions, bounce rules. */
  readonly levers: {
    readonly suspensions: number;
    readonly ready_suspensions: number;
    readonly bounces: number;
  };
  readonly memory: { readonly rss: number; readonly limit: number };
  readonly disks: readonly DiskUse[];
  readonly policy: {
    /** The policy file's absolute path. */
    readonly path: string;
    /** When `init` ran at start. */
    readonly loaded_at: number;
    /** The last config epoch (a watched file changed, `bump_config_epoch`), or null. */
    readonly reloaded_at: number | null;
  };
  readonly listeners: readonly { readonly kind: 'smtp' | 'http'; readonly address: string }[];
  /** Protocol drivers loaded: the protocol key and the package it came from. */
  readonly drivers: readonly { readonly protocol: string; readonly package: string | null }[];
  /** The local log directories (`configure_local_logs`), or null when none is configured. */
  readonly log_dirs: readonly string[] | null;
}

/** An admin lever acting on a queue, as rows show it. */
export interface LeverRef {
  readonly id: string;
  readonly reason: string;
  /** When it ends. */
  readonly expires: number;
}

/** A scheduled queue (`campaign:tenant@domain!routing_domain`). */
export interface ScheduledQueueRow {
  readonly name: string;
  readonly domain: string;
  readonly tenant: string | null;
  readonly campaign: string | null;
  readonly routing_domain: string | null;
  readonly count: number;
  /** The admin suspension holding it, if one does. */
  readonly suspended: LeverRef | null;
  /** The bounce rule bouncing its messages, if one does. */
  readonly bounced: LeverRef | null;
  /** Messages delayed so far by its `max_message_rate` and by `throttle_insert_ready_queue`. */
  readonly delayed_by_rate: number;
}

/** A ready queue (`<source>-><site>@<protocol>`). */
export interface ReadyQueueRow {
  readonly name: string;
  readonly site: string;
  readonly protocol: string;
  readonly source: string | null;
  readonly pool: string | null;
  readonly count: number;
  readonly connections: number;
  /** The egress path's `connection_limit` (a number, or `'local:N'`), null when unset. */
  readonly connection_limit: number | string | null;
  /** The egress path's `max_message_rate` and `max_connection_rate`, as written, or null. */
  readonly max_message_rate: string | null;
  readonly max_connection_rate: string | null;
  /** Outcomes per second over the last interval between two snapshots (null on the first). */
  readonly rates: {
    readonly delivered: number;
    readonly transient: number;
    readonly failed: number;
  } | null;
  /** Cumulative outcomes of this queue's service since it appeared. */
  readonly totals: {
    readonly delivered: number;
    readonly transient: number;
    readonly failed: number;
  };
  /** Why new connections wait, when they do (a connection limit, `max_connection_rate`). */
  readonly waiting_on: {
    readonly kind: 'connection_limit' | 'connection_rate';
    readonly since: number;
    readonly context: string;
  } | null;
  readonly suspended: LeverRef | null;
}

/** The queues page. */
export interface QueuesSnapshot {
  readonly now: number;
  readonly scheduled: readonly ScheduledQueueRow[];
  readonly ready: readonly ReadyQueueRow[];
}

/** One log record of a message's journey (a subset of KumoMTA's record). */
export interface JourneyEvent {
  /** `Reception`, `Delivery`, `TransientFailure`, `Bounce`, `Expiration`, `AdminBounce`, `AdminRebind`… */
  readonly type: string;
  /** Epoch milliseconds (the record's `timestamp` × 1000). */
  readonly time: number;
  readonly recipient: string | readonly string[];
  readonly queue: string;
  readonly site: string;
  readonly num_attempts: number;
  readonly response: {
    readonly code: number;
    readonly enhanced_code: {
      readonly class: number;
      readonly subject: number;
      readonly detail: number;
    } | null;
    readonly content: string;
  };
  readonly peer_address: { readonly name: string; readonly addr: string } | null;
  readonly egress_pool: string | null;
  readonly egress_source: string | null;
  readonly bounce_classification: string;
  readonly reception_protocol: string | null;
  readonly delivery_protocol: string | null;
}

/** Where a message is now, from the engine (null when the engine no longer holds it). */
export interface MessageLocation {
  readonly queue: string;
  /** In a scheduled queue (waiting for its due time), or in a ready queue (next to go). */
  readonly where: 'scheduled' | 'ready';
  readonly due: number;
  readonly num_attempts: number;
  /** The lever holding it, when its queue is suspended. */
  readonly held_by: LeverRef | null;
}

/** One message: what the logs say happened, and where the engine has it now. */
export interface Journey {
  readonly id: string;
  readonly sender: string;
  readonly recipients: readonly string[];
  /** Log records, oldest first. */
  readonly events: readonly JourneyEvent[];
  /** From the last record and the engine. */
  readonly outcome: 'delivered' | 'bounced' | 'expired' | 'queued' | 'unknown';
  readonly now: MessageLocation | null;
}

/** `GET /ui/api/journey?q=…`. */
export interface JourneySearch {
  readonly query: string;
  /** How the query was read: a spool id, else an address matched against recipients and senders. */
  readonly by: 'id' | 'address';
  /** Newest first, at most 50. */
  readonly journeys: readonly Journey[];
  /** What of the local logs was read; null when no local logs are configured. */
  readonly logs: {
    readonly dirs: readonly string[];
    readonly segments_read: number;
    /** True when older segments were left unread (the scan's bound was reached). */
    readonly truncated: boolean;
  } | null;
  /**
   * What of the engine's held messages an address search looked at (at most 200,000); for an
   * id, 1 when the engine holds it, else 0. `truncated` when messages were left unlooked at.
   */
  readonly engine: { readonly scanned: number; readonly truncated: boolean };
}

/**
 * The Server-Sent Events of `GET /ui/api/events` (`event:` name → `data:` JSON):
 * - `hello` once on connect: `{ overview, history, queues }`, history being up to 900 samples
 *   (15 minutes), oldest first;
 * - `tick` every second: `{ sample, overview }`;
 * - `queues` every two seconds: a {@link QueuesSnapshot}.
 */
export interface HelloEvent {
  readonly overview: Overview;
  readonly history: readonly RateSample[];
  readonly queues: QueuesSnapshot;
}
export interface TickEvent {
  readonly sample: RateSample;
  readonly overview: Overview;
}
