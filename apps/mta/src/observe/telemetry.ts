import { Counter, Histogram } from 'prom-client';

/** KumoMTA's latency buckets, in seconds (every `*_latency` histogram of its catalogue). */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A delivery attempt's outcome, as the `total_messages_*` counters split them. */
export type OutcomeKind = 'delivered' | 'transfail' | 'fail';

/** Counts of one label set. */
export type OutcomeCounts = Record<OutcomeKind, number>;

/** Where an attempt went, for the counters' labels. */
export interface OutcomeLabels {
  /** The ready queue's service: `smtp_client:<source>-><site>` (`lua:…`, `maildir:…`). */
  readonly service: string;
  /** The protocol's aggregate: `smtp_client`, `lua:<constructor>`, `maildir`. */
  readonly aggregate: string;
  /** The queue config's `provider_name`, when the policy set one. */
  readonly provider?: string | undefined;
  readonly source?: string | null | undefined;
  readonly pool?: string | null | undefined;
}

const zero = (): OutcomeCounts => ({ delivered: 0, transfail: 0, fail: 0 });

/**
 * What the engine measures as it goes, for the metrics KumoMTA has beyond a stats snapshot:
 * outcomes by service and by provider, connections ever opened, ready-queue overflows, policy
 * event and log submission latencies. One per process (the daemon is one per process); the
 * metrics registry reads it at scrape time.
 */
export class Telemetry {
  /** Per ready-queue service and per aggregate service (`smtp_client`). */
  readonly outcomes = new Map<string, OutcomeCounts>();
  readonly byProvider = new Map<string, OutcomeCounts>();
  /** Keyed by `JSON.stringify([provider, source, pool])`. */
  readonly byProviderAndSource = new Map<string, OutcomeCounts>();
  /** Connections ever opened, per ready-queue service and per aggregate. */
  readonly connectionsOpened = new Map<string, number>();
  /** Messages that arrived at a ready queue already holding `max_ready`, per service. */
  readonly readyFull = new Map<string, number>();
  /** Sends the dispatcher watchdog abandoned, per ready-queue service and per aggregate. */
  readonly watchdogAborted = new Map<string, number>();
  /** Seconds each driver send (one message, or one batch) took, by protocol aggregate. */
  readonly deliverLatency = new Histogram({
    name: 'deliver_message_latency_rollup',
    help: 'how many seconds a deliver_message call takes for a given protocol',
    labelNames: ['service'],
    buckets: LATENCY_BUCKETS,
    registers: [],
  });
  /** Messages received, per listener service (`esmtp_listener`, `http_listener`). */
  readonly received = new Map<string, number>();
  /** Seconds each policy event call took, by event name. */
  readonly luaEventLatency = new Histogram({
    name: 'lua_event_latency',
    help: 'how long a given lua event callback took',
    labelNames: ['event'],
    buckets: LATENCY_BUCKETS,
    registers: [],
  });
  /** Policy event calls started, by event name (`lua_event_latency_count` counts the finished). */
  readonly luaEventStarted = new Counter({
    name: 'lua_event_started',
    help: 'incremented each time we start to call a lua event callback',
    labelNames: ['event'],
    registers: [],
  });
  /** Seconds a log record's submission took (including waiting out back-pressure). */
  readonly logSubmitLatency = new Histogram({
    name: 'log_submit_latency',
    help: 'latency of log event submission operations',
    labelNames: ['logger'],
    buckets: LATENCY_BUCKETS,
    registers: [],
  });
  /** Directories whose free space is reported, by the `name` label. */
  readonly diskWatch = new Map<string, string>();
  /** Aggregate services seen (`smtp_client`…): never pruned. */
  readonly #aggregates = new Set<string>();

  /** Counts `count` recipients' outcome of one attempt. */
  outcome(kind: OutcomeKind, count: number, labels: OutcomeLabels): void {
    this.#aggregates.add(labels.aggregate);
    bump(this.outcomes, labels.service, kind, count);
    if (labels.aggregate !== labels.service) bump(this.outcomes, labels.aggregate, kind, count);
    if (labels.provider === undefined) return;
    bump(this.byProvider, labels.provider, kind, count);
    const key = JSON.stringify([labels.provider, labels.source ?? '', labels.pool ?? '']);
    bump(this.byProviderAndSource, key, kind, count);
  }

  /** A ready queue opened a connection. */
  connectionOpened(service: string, aggregate: string): void {
    this.#aggregates.add(aggregate);
    add(this.connectionsOpened, service, 1);
    if (aggregate !== service) add(this.connectionsOpened, aggregate, 1);
  }

  /** A message arrived at a ready queue that already held `max_ready` messages. */
  readyQueueFull(service: string): void {
    add(this.readyFull, service, 1);
  }

  /** Messages accepted by a listener. */
  messagesReceived(service: string, count: number): void {
    add(this.received, service, count);
  }

  /** Reports the free space of `dir` as `disk_free_*{name}`. */
  watchDisk(name: string, dir: string): void {
    this.diskWatch.set(name, dir);
  }

  /**
   * Drops per-queue series of ready queues that no longer exist (KumoMTA prunes the series of
   * idle queues); aggregates (`smtp_client`) and provider series stay.
   */
  prune(liveServices: ReadonlySet<string>): void {
    for (const map of [
      this.outcomes,
      this.connectionsOpened,
      this.readyFull,
      this.watchdogAborted,
    ] as Map<string, unknown>[]) {
      for (const service of map.keys())
        if (!liveServices.has(service) && !this.#aggregates.has(service)) map.delete(service);
    }
  }
}

function bump(map: Map<string, OutcomeCounts>, key: string, kind: OutcomeKind, n: number): void {
  let counts = map.get(key);
  if (counts === undefined) {
    counts = zero();
    map.set(key, counts);
  }
  counts[kind] += n;
}

function add(map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

/** The process's telemetry: what the engine, the policy runtime and the log writer feed. */
export const telemetry = new Telemetry();

/**
 * The metrics `service` of a ready queue named `<source>-><site>@<service>` (KumoMTA's form):
 * `<service>:<source>-><site>`, and its protocol aggregate `<service>`.
 */
export function readyQueueService(readyQueueName: string): { service: string; aggregate: string } {
  const at = readyQueueName.lastIndexOf('@');
  if (at < 0) return { service: readyQueueName, aggregate: readyQueueName };
  const aggregate = readyQueueName.slice(at + 1);
  return { service: `${aggregate}:${readyQueueName.slice(0, at)}`, aggregate };
}

const OUTCOME_KIND = { delivered: 'delivered', transient: 'transfail', permanent: 'fail' } as const;

/**
 * Counts an attempt's outcome for `count` recipients into the process telemetry, when the
 * attempt went through a ready queue (failures before one, in the scheduled queue, have no
 * service and are counted only in the engine's totals).
 */
export function countOutcome(
  kind: keyof typeof OUTCOME_KIND,
  count: number,
  info: {
    readonly ready_queue?: string | undefined;
    readonly provider_name?: string | undefined;
    readonly egress_source: string | null;
    readonly egress_pool: string | null;
  },
): void {
  if (info.ready_queue === undefined || count === 0) return;
  telemetry.outcome(OUTCOME_KIND[kind], count, {
    ...readyQueueService(info.ready_queue),
    provider: info.provider_name,
    source: info.egress_source,
    pool: info.egress_pool,
  });
}

/** A ready queue (by name) opened a connection. */
export function countConnection(readyQueueName: string): void {
  const { service, aggregate } = readyQueueService(readyQueueName);
  telemetry.connectionOpened(service, aggregate);
}

/** A message arrived at a ready queue (by name) already holding `max_ready`. */
export function countReadyFull(readyQueueName: string): void {
  telemetry.readyQueueFull(readyQueueService(readyQueueName).service);
}

/** The dispatcher watchdog abandoned a send of a ready queue (by name). */
export function countWatchdogAbort(readyQueueName: string): void {
  const { service, aggregate } = readyQueueService(readyQueueName);
  add(telemetry.watchdogAborted, service, 1);
  add(telemetry.watchdogAborted, aggregate, 1);
}

/** Starts timing one driver send of a ready queue (by name); call the result when it ends. */
export function timeDelivery(readyQueueName: string): () => void {
  const end = telemetry.deliverLatency.startTimer({
    service: readyQueueService(readyQueueName).aggregate,
  });
  return () => {
    end();
  };
}
