import { readFile } from 'node:fs/promises';
import { type SmtpSink, startSmtpSink } from '@sterna/protocol-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { eventually } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';

// KumoMTA's metric names and labels after real traffic: an SMTP sink that accepts, defers
// (tempfail…) and rejects (permfail…) recipients, a maildir queue, and a queue no driver
// claims so a tenant's and campaign's mail stays scheduled.

const POLICY = (port: number) => `
kumo.on('get_queue_config', function(domain, tenant, campaign)
  if domain == 'sink.test' then
    return kumo.make_queue_config {
      retry_interval = '1h', provider_name = 'testprov',
      protocol = { smtp = { mx_list = { '127.0.0.1:${port}' } } },
    }
  elseif domain == 'held.test' then
    return kumo.make_queue_config { retry_interval = '1h', protocol = { not_installed = {} } }
  end
  return kumo.make_queue_config { protocol = { maildir_path = DIR .. '/maildir' } }
end)
kumo.on('get_egress_path_config', function()
  return kumo.make_egress_path { prohibited_hosts = {}, enable_tls = 'Disabled' }
end)
kumo.on('http_message_generated', function(msg)
  if msg:recipient().domain == 'held.test' then
    msg:set_meta('tenant', 't1')
    msg:set_meta('campaign', 'c1')
  end
end)
`;

const RECIPIENTS = [
  'ok1@sink.test',
  'ok2@sink.test',
  'tempfail1@sink.test',
  'permfail1@sink.test',
  'user@box.test',
  'user@held.test',
];

/** A sample's value from the exposition text, or undefined when the series is absent. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map(
      [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[3]);
  }
  return undefined;
}

/** Label values of every series of `name` for label `label`. */
function labelValues(text: string, name: string, label: string): string[] {
  const re = new RegExp(`^${name}\\{[^}]*\\b${label}="([^"]*)"`, 'gm');
  return [...text.matchAll(re)].map((m) => m[1]!);
}

describe('metrics as KumoMTA names them, after real traffic', { timeout: 180_000 }, () => {
  let sink: SmtpSink;
  let dir: PolicyDir;
  let daemon: DaemonProcess | undefined;
  let text = '';

  beforeAll(async () => {
    sink = await startSmtpSink({ tls: false });
    dir = await writePolicy(POLICY(sink.port));
    daemon = await startDaemon(dir.policy);
    const response = await fetch(`${daemon.http}/api/inject/v1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        envelope_sender: 'sender@example.org',
        content: 'Subject: metrics\r\n\r\nhello\r\n',
        recipients: RECIPIENTS.map((email) => ({ email })),
      }),
    });
    expect(response.status).toBe(200);
    // Every attempt has happened once the sink took two and the other outcomes are counted, and
    // the deferred message is back in its scheduled queue and the finished ones have left the
    // spool (each is counted a moment before that).
    text = await eventually(
      async () => {
        const t = await fetch(`${daemon!.http}/metrics`).then((r) => r.text());
        const done =
          sample(t, 'total_messages_delivered', { service: 'smtp_client' }) === 2 &&
          sample(t, 'total_messages_fail', { service: 'smtp_client' }) === 1 &&
          sample(t, 'total_messages_transfail', { service: 'smtp_client' }) === 1 &&
          sample(t, 'total_messages_delivered', { service: 'maildir' }) === 1 &&
          sample(t, 'scheduled_count', { queue: 'sink.test' }) === 1 &&
          sample(t, 'scheduled_count', { queue: 'c1:t1@held.test' }) === 1 &&
          sample(t, 'message_count') === 2;
        return done ? t : undefined;
      },
      60_000,
      'the deliveries to be counted',
    );
  });
  afterAll(async () => {
    await daemon?.kill();
    await sink?.close();
    await dir?.cleanup();
  });

  it('counts outcomes by service, per ready queue and per protocol', () => {
    const services = labelValues(text, 'total_messages_delivered', 'service');
    const smtpQueue = services.find((s) => s.startsWith('smtp_client:unspecified->'));
    expect(smtpQueue).toBeDefined();
    expect(sample(text, 'total_messages_delivered', { service: smtpQueue! })).toBe(2);
    expect(sample(text, 'total_messages_fail', { service: smtpQueue! })).toBe(1);
    expect(sample(text, 'total_messages_transfail', { service: smtpQueue! })).toBe(1);
    expect(services.some((s) => s.startsWith('maildir:'))).toBe(true);
    expect(sample(text, 'total_messages_received', { service: 'http_listener' })).toBe(6);
    expect(sample(text, 'total_connection_count', { service: 'smtp_client' })).toBeGreaterThan(0);
    expect(sample(text, 'total_connection_count', { service: smtpQueue! })).toBeGreaterThan(0);
    expect(text).toContain('# TYPE connection_count gauge');
    expect(sample(text, 'connection_count', { service: 'smtp_client' })).toBeGreaterThanOrEqual(0);
  });

  it('counts outcomes by provider, and by provider, source and pool', () => {
    expect(sample(text, 'total_messages_delivered_by_provider', { provider: 'testprov' })).toBe(2);
    expect(sample(text, 'total_messages_fail_by_provider', { provider: 'testprov' })).toBe(1);
    expect(sample(text, 'total_messages_transfail_by_provider', { provider: 'testprov' })).toBe(1);
    expect(
      sample(text, 'total_messages_delivered_by_provider_and_source', {
        provider: 'testprov',
        source: 'unspecified',
      }),
    ).toBe(2);
    // Maildir's queue sets no provider_name: no provider series for it.
    expect(labelValues(text, 'total_messages_delivered_by_provider', 'provider')).toEqual([
      'testprov',
    ]);
  });

  it('reports scheduled messages by queue, domain, tenant and campaign', () => {
    expect(sample(text, 'scheduled_count', { queue: 'c1:t1@held.test' })).toBe(1);
    expect(sample(text, 'scheduled_count', { queue: 'sink.test' })).toBe(1);
    expect(sample(text, 'scheduled_by_domain', { domain: 'held.test' })).toBe(1);
    expect(sample(text, 'scheduled_by_tenant', { tenant: 't1' })).toBe(1);
    expect(sample(text, 'scheduled_by_tenant_campaign', { tenant: 't1', campaign: 'c1' })).toBe(1);
    expect(sample(text, 'message_count')).toBe(2);
  });

  it('measures policy events, log submissions, disk and memory', () => {
    expect(sample(text, 'lua_event_latency_count', { event: 'get_queue_config' })).toBeGreaterThan(
      0,
    );
    expect(sample(text, 'lua_event_latency_count', { event: 'http_message_generated' })).toBe(6);
    expect(sample(text, 'lua_event_started', { event: 'http_message_generated' })).toBe(6);
    expect(
      sample(text, 'lua_event_latency_bucket', { event: 'get_queue_config', le: '10' }),
    ).toBeGreaterThan(0);
    expect(sample(text, 'log_submit_latency_count', { logger: 'local' })).toBeGreaterThan(0);
    expect(
      sample(text, 'deliver_message_latency_rollup_count', { service: 'smtp_client' }),
    ).toBeGreaterThan(0);
    expect(sample(text, 'deliver_message_latency_rollup_count', { service: 'maildir' })).toBe(1);
    expect(text).toContain('# TYPE dispatcher_watchdog_aborted_total counter');
    expect(sample(text, 'disk_free_bytes', { name: 'data spool' })).toBeGreaterThan(0);
    expect(sample(text, 'disk_free_bytes', { name: 'meta spool' })).toBeGreaterThan(0);
    expect(sample(text, 'disk_free_percent', { name: `log dir ${dir.logs}` })).toBeGreaterThan(0);
    const used = sample(text, 'memory_usage')!;
    expect(used).toBeGreaterThan(0);
    expect(sample(text, 'memory_limit')).toBeGreaterThanOrEqual(used);
  });

  it('serves the same series as /metrics.json, in the shape kcli reads', async () => {
    const json = (await fetch(`${daemon!.http}/metrics.json`).then((r) => r.json())) as Record<
      string,
      { type: string; help?: string; value: unknown }
    >;
    expect(json.scheduled_count).toMatchObject({
      type: 'gauge',
      value: { queue: { 'c1:t1@held.test': 1, 'sink.test': 1 } },
    });
    expect(json.total_messages_delivered).toMatchObject({
      type: 'counter',
      value: { service: { smtp_client: 2, maildir: 1 } },
    });
    expect(json.memory_usage?.value).toEqual(expect.any(Number));
    expect(json.total_messages_delivered_by_provider_and_source?.value).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ provider: 'testprov', source: 'unspecified', '@': 2 }),
      ]),
    );
    const latency = json.lua_event_latency?.value as {
      event: Record<
        string,
        { count: number; sum: number; avg: number; bucket: [number, number][] }
      >;
    };
    expect(json.lua_event_latency?.type).toBe('histogram');
    expect(latency.event.http_message_generated?.count).toBe(6);
    expect(latency.event.http_message_generated?.bucket.at(-1)).toEqual([10, 6]);
  });

  it('ships a Grafana dashboard whose every query names series a real scrape has', async () => {
    const raw = await readFile(
      new URL('../../../../examples/grafana/sterna-dashboard.json', import.meta.url),
      'utf8',
    );
    const dashboard = DASHBOARD.parse(JSON.parse(raw));
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(10);
    const missing: string[] = [];
    for (const expr of exprs)
      for (const name of metricNames(expr))
        if (!inScrape(text, name)) missing.push(`${name} (in ${expr})`);
    expect(missing).toEqual([]);
  });
});

const DATASOURCE = z.object({ type: z.literal('prometheus'), uid: z.string().min(1) });

/** The parts of Grafana's dashboard model the shipped dashboard relies on. */
const DASHBOARD = z.object({
  title: z.string().min(1),
  uid: z.string().min(1),
  schemaVersion: z.number().int(),
  templating: z.object({
    list: z.array(z.object({ name: z.string(), type: z.string(), query: z.string() })),
  }),
  panels: z
    .array(
      z.object({
        id: z.number().int(),
        type: z.enum(['timeseries', 'stat', 'heatmap', 'gauge', 'bargauge', 'table']),
        title: z.string().min(1),
        datasource: DATASOURCE,
        gridPos: z.object({
          x: z.number().int().min(0).max(23),
          y: z.number().int().min(0),
          w: z.number().int().min(1).max(24),
          h: z.number().int().min(1),
        }),
        targets: z
          .array(
            z.object({
              refId: z.string().min(1),
              expr: z.string().min(1),
              datasource: DATASOURCE,
              legendFormat: z.string().optional(),
            }),
          )
          .min(1),
      }),
    )
    .min(1),
});

/**
 * Whether the scrape has `name`: a sample, or the family's `# TYPE` line (a counter of events
 * that have not happened yet, such as a throttle's delays, is declared without samples).
 */
function inScrape(text: string, name: string): boolean {
  if (new RegExp(`^${name}[{ ]`, 'm').test(text)) return true;
  const family = name.replace(/_(?:bucket|sum|count)$/, '');
  return new RegExp(`^# TYPE ${family} `, 'm').test(text);
}

const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'offset',
  'bool',
]);

/** The metric names a PromQL expression reads (functions, keywords and labels left out). */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(?:by|without|on|ignoring)\s*\([^)]*\)/g, '')
    .replace(/\$\w+/g, '');
  return [...stripped.matchAll(/\b([a-zA-Z_:][\w:]*)\b(?!\s*\()/g)]
    .map((m) => m[1]!)
    .filter((w) => !PROMQL_WORDS.has(w) && !/^\d/.test(w));
}
