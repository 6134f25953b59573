import { parseQueueName, type QueueNameParts } from '@sterna/core';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { registerSystemMetrics } from '../observe/system-metrics.js';
import {
  type OutcomeCounts,
  type OutcomeKind,
  telemetry as processTelemetry,
  readyQueueService,
  type Telemetry,
} from '../observe/telemetry.js';
import type { EngineStats } from '../queue/admin-types.js';

type Labels = Record<string, string>;

/**
 * A registry of its own (never prom-client's global one, so two listeners or tests never share
 * series) whose values are read from `stats()` and the process telemetry at scrape time.
 * Names and labels are KumoMTA's (docs/metrics.md lists them); `total_messages_expired` and the
 * `ready_queue_*` delay counters are Sterna's own.
 */
export function createMetrics(
  stats: () => EngineStats,
  options: { processMetrics?: boolean; telemetry?: Telemetry } = {},
): Registry {
  const registry = new Registry();
  const telemetry = options.telemetry ?? processTelemetry;
  // One stats() per scrape, shared by every series: it walks every queued message.
  let snapshot: { stats: EngineStats; ready: Map<string, ReadyView> } | undefined;
  const current = () => {
    if (snapshot === undefined) {
      const s = stats();
      const ready = new Map<string, ReadyView>();
      for (const [name, q] of Object.entries(s.ready)) {
        const { service, aggregate } = readyQueueService(name);
        ready.set(service, { ...q, aggregate });
      }
      // Series of ready queues that idled out go, as KumoMTA prunes them.
      telemetry.prune(new Set(ready.keys()));
      snapshot = { stats: s, ready };
      setImmediate(() => {
        snapshot = undefined;
      });
    }
    return snapshot;
  };

  // A family whose series are rebuilt from scratch at every scrape (queues that went away vanish).
  const family = (
    kind: 'counter' | 'gauge',
    name: string,
    help: string,
    labelNames: string[],
    fill: (set: (labels: Labels, value: number) => void) => void,
  ) => {
    const Metric = kind === 'counter' ? Counter : Gauge;
    new Metric({
      name,
      help,
      labelNames,
      registers: [registry],
      collect(this: Counter | Gauge) {
        this.reset();
        fill((labels, value) => {
          // Counters have no set(): start from zero and add the running total.
          if (this instanceof Counter) this.inc(labels, value);
          else this.set(labels, value);
        });
      },
    });
  };

  family(
    'counter',
    'total_messages_received',
    'total number of messages ever received',
    ['service'],
    (set) => {
      for (const [service, n] of telemetry.received) set({ service }, n);
    },
  );
  const outcomes: [OutcomeKind, string, string][] = [
    ['delivered', 'total_messages_delivered', 'total number of messages ever delivered'],
    [
      'transfail',
      'total_messages_transfail',
      'total number of message delivery attempts that transiently failed',
    ],
    [
      'fail',
      'total_messages_fail',
      'total number of message delivery attempts that permanently failed',
    ],
  ];
  const counted = (map: Map<string, OutcomeCounts>, kind: OutcomeKind) =>
    [...map].filter(([, c]) => c[kind] > 0);
  for (const [kind, name, help] of outcomes) {
    family('counter', name, help, ['service'], (set) => {
      current();
      for (const [service, c] of counted(telemetry.outcomes, kind)) set({ service }, c[kind]);
    });
    family('counter', `${name}_by_provider`, help, ['provider'], (set) => {
      for (const [provider, c] of counted(telemetry.byProvider, kind)) set({ provider }, c[kind]);
    });
    family(
      'counter',
      `${name}_by_provider_and_source`,
      help,
      ['provider', 'source', 'pool'],
      (set) => {
        for (const [key, c] of counted(telemetry.byProviderAndSource, kind)) {
          const [provider, source, pool] = JSON.parse(key) as [string, string, string];
          set({ provider, source, pool }, c[kind]);
        }
      },
    );
  }
  new Counter({
    name: 'total_messages_expired',
    help: 'total number of messages expired (Sterna; KumoMTA has no such counter)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(current().stats.counters.expired);
    },
  });
  new Gauge({
    name: 'message_count',
    help: 'number of messages held: spooled and not yet delivered, bounced or expired',
    registers: [registry],
    collect() {
      this.set(current().stats.messages);
    },
  });
  registerScheduled(family, () => current().stats.scheduled);

  family('gauge', 'ready_count', 'number of messages in the ready queue', ['service'], (set) => {
    for (const [service, q] of current().ready) set({ service }, q.messages);
  });
  family('gauge', 'connection_count', 'number of active connections', ['service'], (set) => {
    const aggregates = new Map<string, number>();
    for (const [service, q] of current().ready) {
      set({ service }, q.connections);
      aggregates.set(q.aggregate, (aggregates.get(q.aggregate) ?? 0) + q.connections);
    }
    for (const [service, n] of aggregates) set({ service }, n);
  });
  family(
    'counter',
    'total_connection_count',
    'total number of active connections ever made',
    ['service'],
    (set) => {
      current();
      for (const [service, n] of telemetry.connectionsOpened) set({ service }, n);
    },
  );
  family(
    'counter',
    'ready_full',
    'number of times a message could not fit in the ready queue (it waited its turn)',
    ['service'],
    (set) => {
      current();
      for (const [service, n] of telemetry.readyFull) set({ service }, n);
    },
  );
  registerDelays(family, () => current().stats.delays);
  family(
    'counter',
    'dispatcher_watchdog_aborted_total',
    'total number of dispatcher tasks aborted by the progress watchdog',
    ['service'],
    (set) => {
      current();
      for (const [service, n] of telemetry.watchdogAborted) set({ service }, n);
    },
  );
  registry.registerMetric(telemetry.deliverLatency);
  registry.registerMetric(telemetry.luaEventStarted);
  registry.registerMetric(telemetry.luaEventLatency);
  registry.registerMetric(telemetry.logSubmitLatency);
  registerSystemMetrics(registry, telemetry);
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  return registry;
}

interface ReadyView {
  readonly messages: number;
  readonly connections: number;
  readonly aggregate: string;
}

type Family = (
  kind: 'counter' | 'gauge',
  name: string,
  help: string,
  labelNames: string[],
  fill: (set: (labels: Labels, value: number) => void) => void,
) => void;

// scheduled_count by queue, and KumoMTA's roll-ups of the queue name's parts.
function registerScheduled(family: Family, scheduled: () => EngineStats['scheduled']): void {
  // Queue names are parsed once, not at every scrape; the cache is bounded by starting over.
  const parsed = new Map<string, QueueNameParts>();
  const parts = (queue: string): QueueNameParts => {
    let p = parsed.get(queue);
    if (p === undefined) {
      if (parsed.size >= 50_000) parsed.clear();
      p = parseQueueName(queue);
      parsed.set(queue, p);
    }
    return p;
  };
  const rollUp = (
    name: string,
    help: string,
    labels: string[],
    pick: (queue: string) => Labels | undefined,
  ) =>
    family('gauge', name, help, labels, (set) => {
      const sums = new Map<string, { labels: Labels; n: number }>();
      for (const [queue, n] of Object.entries(scheduled())) {
        const picked = pick(queue);
        if (picked === undefined) continue;
        const key = JSON.stringify(picked);
        const seen = sums.get(key);
        if (seen) seen.n += n;
        else sums.set(key, { labels: picked, n });
      }
      for (const { labels, n } of sums.values()) set(labels, n);
    });
  family(
    'gauge',
    'scheduled_count',
    'number of messages in the scheduled queue',
    ['queue'],
    (set) => {
      for (const [queue, n] of Object.entries(scheduled())) set({ queue }, n);
    },
  );
  family(
    'gauge',
    'scheduled_count_total',
    'total number of messages across all scheduled queues',
    [],
    (set) => {
      let total = 0;
      for (const n of Object.values(scheduled())) total += n;
      set({}, total);
    },
  );
  rollUp(
    'scheduled_by_domain',
    'number of messages in the scheduled queue for a specific domain',
    ['domain'],
    (q) => ({
      domain: parts(q).domain,
    }),
  );
  rollUp(
    'scheduled_by_tenant',
    'number of messages in the scheduled queue for a specific tenant',
    ['tenant'],
    (q) => {
      const { tenant } = parts(q);
      return tenant === undefined ? undefined : { tenant };
    },
  );
  rollUp(
    'scheduled_by_tenant_campaign',
    'number of messages in the scheduled queue for a specific tenant and campaign combination',
    ['tenant', 'campaign'],
    (q) => {
      const { tenant, campaign } = parts(q);
      return tenant === undefined || campaign === undefined ? undefined : { tenant, campaign };
    },
  );
}

// Throttle and limit delays: KumoMTA's names for the scheduled queue's max_message_rate and the
// throttle_insert_ready_queue event, Sterna's own for the egress path's throttles and limits.
function registerDelays(family: Family, delays: () => EngineStats['delays']): void {
  const list: [string, string, 'queue' | 'service', keyof NonNullable<EngineStats['delays']>][] = [
    [
      'delayed_due_to_message_rate_throttle',
      "number of times a message was delayed by its scheduled queue's max_message_rate",
      'queue',
      'messageRate',
    ],
    [
      'delayed_due_to_throttle_insert_ready',
      'number of times a message was delayed by the throttle_insert_ready_queue event',
      'queue',
      'throttleInsert',
    ],
    [
      'ready_queue_message_rate_throttled',
      "number of times a ready queue waited on its egress path's max_message_rate or additional_message_rate_throttles (Sterna)",
      'service',
      'readyMessageRate',
    ],
    [
      'ready_queue_connection_rate_throttled',
      "number of times a ready queue waited on its egress path's max_connection_rate (Sterna)",
      'service',
      'connectionRate',
    ],
    [
      'ready_queue_connection_limited',
      "number of times a ready queue waited on one of its egress path's additional_connection_limits (Sterna)",
      'service',
      'connectionLimited',
    ],
  ];
  for (const [name, help, label, key] of list) {
    family('counter', name, help, [label], (set) => {
      for (const [value, n] of Object.entries(delays()?.[key] ?? {}))
        set({ [label]: label === 'service' ? readyQueueService(value).service : value }, n);
    });
  }
}
