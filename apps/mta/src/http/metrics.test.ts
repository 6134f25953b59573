import { describe, expect, it } from 'vitest';
import { Telemetry } from '../observe/telemetry.js';
import type { EngineStats } from '../queue/admin-types.js';
import { createMetrics } from './metrics.js';
import { metricsAsJson } from './metrics-json.js';

const SMTP = 'unspecified->mx_list:127.0.0.1@smtp_client';

function stats(ready: EngineStats['ready'], scheduled: EngineStats['scheduled'] = {}): EngineStats {
  return {
    counters: { received: 0, delivered: 0, transientFailures: 0, bounced: 0, expired: 2 },
    messages: 3,
    scheduled,
    ready,
    delays: {
      messageRate: { 'a.example': 1 },
      throttleInsert: {},
      readyMessageRate: { [SMTP]: 4 },
      connectionRate: {},
      connectionLimited: {},
    },
  };
}

describe('createMetrics', () => {
  it("labels ready queues by KumoMTA's service and rolls scheduled queues up", async () => {
    const telemetry = new Telemetry();
    const registry = createMetrics(
      () =>
        stats(
          { [SMTP]: { messages: 5, connections: 2 } },
          { 'c1:t1@a.example': 2, 't1@a.example': 1, 'b.example!relay.example': 4 },
        ),
      { processMetrics: false, telemetry },
    );
    const text = await registry.metrics();
    expect(text).toContain('ready_count{service="smtp_client:unspecified->mx_list:127.0.0.1"} 5\n');
    expect(text).toContain('connection_count{service="smtp_client"} 2\n');
    expect(text).toContain('scheduled_count_total 7\n');
    expect(text).toContain('scheduled_by_domain{domain="a.example"} 3\n');
    expect(text).toContain('scheduled_by_domain{domain="b.example"} 4\n');
    expect(text).toContain('scheduled_by_tenant{tenant="t1"} 3\n');
    expect(text).toContain('scheduled_by_tenant_campaign{tenant="t1",campaign="c1"} 2\n');
    expect(text).toContain('delayed_due_to_message_rate_throttle{queue="a.example"} 1\n');
    expect(text).toContain(
      'ready_queue_message_rate_throttled{service="smtp_client:unspecified->mx_list:127.0.0.1"} 4\n',
    );
    expect(text).toContain('total_messages_expired 2\n');
  });

  it('takes one engine snapshot per scrape, however many queues and series', async () => {
    const ready: Record<string, { messages: number; connections: number }> = {};
    const scheduled: Record<string, number> = {};
    for (let i = 0; i < 2000; i++) {
      ready[`unspecified->mx${i}.example@smtp_client`] = { messages: 1, connections: 1 };
      scheduled[`c${i % 7}:t${i % 13}@d${i}.example`] = 2;
    }
    let calls = 0;
    const registry = createMetrics(
      () => {
        calls++;
        return stats(ready, scheduled);
      },
      { processMetrics: false, telemetry: new Telemetry() },
    );
    const text = await registry.metrics();
    expect(calls).toBe(1);
    expect(text).toContain('scheduled_count_total 4000\n');
    expect(text).toContain('connection_count{service="smtp_client"} 2000\n');
    await new Promise((r) => setImmediate(r));
    const json = await metricsAsJson(registry);
    expect(calls).toBe(2);
    expect(Object.keys((json.ready_count!.value as { service: object }).service)).toHaveLength(
      2000,
    );
  });

  it('drops the per-queue series of a ready queue that went away, keeping the aggregate', async () => {
    const telemetry = new Telemetry();
    let ready: EngineStats['ready'] = { [SMTP]: { messages: 0, connections: 0 } };
    const registry = createMetrics(() => stats(ready), { processMetrics: false, telemetry });
    const labels = {
      service: 'smtp_client:unspecified->mx_list:127.0.0.1',
      aggregate: 'smtp_client',
    };
    telemetry.outcome('delivered', 3, { ...labels, provider: 'p', source: 's', pool: 'pool' });
    telemetry.connectionOpened(labels.service, labels.aggregate);
    const first = await registry.metrics();
    expect(first).toContain(`total_messages_delivered{service="${labels.service}"} 3\n`);
    expect(first).toContain('total_messages_delivered{service="smtp_client"} 3\n');
    expect(first).toContain('total_messages_delivered_by_provider{provider="p"} 3\n');
    expect(first).toContain(
      'total_messages_delivered_by_provider_and_source{provider="p",source="s",pool="pool"} 3\n',
    );
    expect(first).toContain(`total_connection_count{service="${labels.service}"} 1\n`);
    ready = {};
    await new Promise((r) => setImmediate(r));
    const second = await registry.metrics();
    expect(second).not.toContain(`total_messages_delivered{service="${labels.service}"}`);
    expect(second).not.toContain(`total_connection_count{service="${labels.service}"}`);
    expect(second).not.toContain(`ready_count{service="${labels.service}"}`);
    expect(second).toContain('total_messages_delivered{service="smtp_client"} 3\n');
    expect(second).toContain('total_connection_count{service="smtp_client"} 1\n');
  });
});
