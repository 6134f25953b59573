import { describe, expect, it } from 'vitest';
import { flattenMetricsJson, parsePrometheusText } from './metrics-source.js';
import { renderQueueSummary } from './queue-summary.js';
import { parseReadyQueue } from './table.js';

const JSON_DOC = {
  message_count: { type: 'gauge', value: 3 },
  scheduled_count: { type: 'gauge', value: { queue: { 'held.example': 2, 'acme@x.example': 1 } } },
  ready_count: {
    type: 'gauge',
    value: { service: { 'smtp_client:unspecified->mx_list:10.0.0.1@smtp_client': 4 } },
  },
  total_messages_delivered: {
    type: 'counter',
    value: {
      service: { smtp_client: 9, 'smtp_client:unspecified->mx_list:10.0.0.1@smtp_client': 9 },
    },
  },
  total_messages_delivered_by_provider: {
    type: 'counter',
    value: [{ provider: 'google', '@': 5 }],
  },
  lua_event_latency: {
    type: 'histogram',
    value: { event: { init: { count: 1, sum: 0.1, avg: 0.1, bucket: [] } } },
  },
  connection_count: { type: 'gauge', value: null },
};

describe('reading the daemon’s metrics', () => {
  it('flattens KumoMTA’s /metrics.json form', () => {
    const series = flattenMetricsJson(JSON_DOC);
    expect(series).toContainEqual({ name: 'message_count', labels: {}, value: 3 });
    expect(series).toContainEqual({
      name: 'scheduled_count',
      labels: { queue: 'held.example' },
      value: 2,
    });
    expect(series).toContainEqual({
      name: 'total_messages_delivered_by_provider',
      labels: { provider: 'google' },
      value: 5,
    });
    expect(series).toContainEqual({
      name: 'lua_event_latency',
      labels: { event: 'init' },
      value: 1,
    });
    expect(series.some((s) => s.name === 'connection_count')).toBe(false);
  });

  it('reads the Prometheus text form the same way', () => {
    const series = parsePrometheusText(
      '# HELP scheduled_count x\n# TYPE scheduled_count gauge\nscheduled_count{queue="held.example"} 2\nmessage_count 3\n',
    );
    expect(series).toEqual([
      { name: 'scheduled_count', labels: { queue: 'held.example' }, value: 2 },
      { name: 'message_count', labels: {}, value: 3 },
    ]);
  });

  it('reads ready queue names and KumoMTA’s service labels', () => {
    expect(parseReadyQueue('smtp_client:unspecified->mx_list:10.0.0.1')).toEqual({
      source: 'unspecified',
      site: 'mx_list:10.0.0.1',
      protocol: 'smtp_client',
    });
    expect(parseReadyQueue('pool-a->(alt1|alt2).example.com@smtp_client')).toEqual({
      source: 'pool-a',
      site: '(alt1|alt2).example.com',
      protocol: 'smtp_client',
    });
    // custom_lua's protocol holds a colon of its own.
    expect(parseReadyQueue('lua:make.webhook:unspecified->webhook')).toEqual({
      source: 'unspecified',
      site: 'webhook',
      protocol: 'lua:make.webhook',
    });
    expect(parseReadyQueue('smtp_client')).toBeUndefined();
    expect(parseReadyQueue('maildir')).toBeUndefined();
  });

  it('renders the queue summary: ready queues by site, scheduled queues with counts', () => {
    const text = renderQueueSummary(flattenMetricsJson(JSON_DOC), {});
    expect(text).toMatch(/SOURCE\s+SITE\s+PROTO\s+D\s+T\s+C\s+Q/);
    expect(text).toMatch(/unspecified\s+mx_list:10\.0\.0\.1\s+smtp_client\s+9\s+0\s+0\s+4/);
    expect(text).toMatch(/acme@x\.example\s+1\n/);
    expect(renderQueueSummary(flattenMetricsJson(JSON_DOC), { domain: 'x.example' })).not.toContain(
      'held.example',
    );
    expect(
      renderQueueSummary(flattenMetricsJson(JSON_DOC), { byVolume: true, limit: 1 }),
    ).not.toContain('acme@');
  });
});
