import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { EngineStats } from '../queue/admin-types.js';

/**
 * A registry of its own (never prom-client's global one, so two listeners or tests never share
 * series) whose values are read from `stats()` at scrape time. Names are KumoMTA's where it
 * has them; `total_messages_expired` is Sterna's own.
 */
export function createMetrics(
  stats: () => EngineStats,
  options: { processMetrics?: boolean } = {},
): Registry {
  const registry = new Registry();
  // One stats() per scrape, shared by every series: it walks every queued message.
  let snapshot: EngineStats | undefined;
  const current = (): EngineStats => {
    if (snapshot === undefined) {
      snapshot = stats();
      setImmediate(() => {
        snapshot = undefined;
      });
    }
    return snapshot;
  };
  const totals: [string, string, keyof EngineStats['counters']][] = [
    ['total_messages_received', 'total number of messages received', 'received'],
    ['total_messages_delivered', 'total number of messages delivered', 'delivered'],
    [
      'total_messages_transfail',
      'total number of message delivery attempts that transiently failed',
      'transientFailures',
    ],
    [
      'total_messages_fail',
      'total number of message delivery attempts that permanently failed',
      'bounced',
    ],
    [
      'total_messages_expired',
      'total number of messages expired (Sterna; KumoMTA has no such counter)',
      'expired',
    ],
  ];
  for (const [name, help, key] of totals) {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        // Counters have no set(): start from zero and add the engine's running total.
        this.reset();
        this.inc(current().counters[key]);
      },
    });
  }
  new Gauge({
    name: 'message_count',
    help: 'number of messages held: spooled and not yet delivered, bounced or expired',
    registers: [registry],
    collect() {
      this.set(current().messages);
    },
  });
  new Gauge({
    name: 'scheduled_count',
    help: 'number of messages in the scheduled queue',
    labelNames: ['queue'],
    registers: [registry],
    collect() {
      // Reset first so queues that idled out disappear, as KumoMTA prunes them.
      this.reset();
      for (const [queue, count] of Object.entries(current().scheduled)) this.set({ queue }, count);
    },
  });
  const ready = (name: string, help: string, pick: 'messages' | 'connections') =>
    new Gauge({
      name,
      help,
      labelNames: ['service'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [service, q] of Object.entries(current().ready)) this.set({ service }, q[pick]);
      },
    });
  // Throttle and limit delays: KumoMTA's name for the scheduled queue's max_message_rate,
  // Sterna's own for the egress path's throttles and limits (KumoMTA has none for those).
  const delays: [string, string, string, keyof NonNullable<EngineStats['delays']>][] = [
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
  for (const [name, help, label, key] of delays) {
    new Counter({
      name,
      help,
      labelNames: [label],
      registers: [registry],
      collect() {
        this.reset();
        for (const [value, count] of Object.entries(current().delays?.[key] ?? {}))
          this.inc({ [label]: value }, count);
      },
    });
  }
  ready('ready_count', 'number of messages in the ready queue', 'messages');
  ready('connection_count', 'number of active connections', 'connections');
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  return registry;
}
