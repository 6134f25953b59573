import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { metricsAsJson } from './metrics-json.js';

describe('metricsAsJson', () => {
  it("renders each family in KumoMTA's shape by label count", async () => {
    const registry = new Registry();
    new Gauge({ name: 'memory_usage', help: 'bytes used', registers: [registry] }).set(42);
    const delivered = new Counter({
      name: 'total_messages_delivered',
      help: 'delivered',
      labelNames: ['service'],
      registers: [registry],
    });
    delivered.inc({ service: 'smtp_client' }, 3);
    delivered.inc({ service: 'smtp_client:a->b' }, 1);
    new Counter({
      name: 'total_messages_delivered_by_provider_and_source',
      help: 'by provider and source',
      labelNames: ['provider', 'source'],
      registers: [registry],
    }).inc({ provider: 'google', source: 'unspecified' }, 2);
    new Gauge({
      name: 'ready_full',
      help: 'none yet',
      labelNames: ['service'],
      registers: [registry],
    });
    const latency = new Histogram({
      name: 'lua_event_latency',
      help: 'latency',
      labelNames: ['event'],
      buckets: [0.1, 1],
      registers: [registry],
    });
    latency.observe({ event: 'get_queue_config' }, 0.05);
    latency.observe({ event: 'get_queue_config' }, 0.5);
    const json = await metricsAsJson(registry);
    expect(json.memory_usage).toEqual({ help: 'bytes used', type: 'gauge', value: 42 });
    expect(json.total_messages_delivered?.value).toEqual({
      service: { smtp_client: 3, 'smtp_client:a->b': 1 },
    });
    expect(json.total_messages_delivered_by_provider_and_source?.value).toEqual([
      { provider: 'google', source: 'unspecified', '@': 2 },
    ]);
    expect(json.ready_full?.value).toBeNull();
    expect(json.lua_event_latency).toEqual({
      help: 'latency',
      type: 'histogram',
      value: {
        event: {
          get_queue_config: {
            count: 2,
            sum: 0.55,
            avg: 0.275,
            bucket: [
              [0.1, 1],
              [1, 2],
            ],
          },
        },
      },
    });
  });
});
