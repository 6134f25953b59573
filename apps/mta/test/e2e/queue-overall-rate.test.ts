import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LogRecord } from '@sterna/core/engine';
import { type SinkMessage, type SmtpSink, startSmtpSink } from '@sterna/protocol-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLogRecords } from '../../src/logs/index.js';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { eventually } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';

// The queue helper's overall_max_message_rate, end to end: a tenant's rate caps the combined
// flow of its scheduled queues, whatever their destination. Tenant t1 sends to two domains (two
// scheduled queues, one sink by mx_list); tenant t2 sends to the same domains without a rate.

const DOMAINS = ['a.overall.test', 'b.overall.test'] as const;

const QUEUES = (port: number) => `
tenant_header = 'X-Tenant'

[tenant.'t1']
overall_max_message_rate = '5/s,max_burst=1'

[tenant.'t2']

${DOMAINS.map(
  (d) => `[queue.'${d}']
retry_interval = '1h'
protocol = { smtp = { mx_list = ['127.0.0.1:${port}'] } }
`,
).join('\n')}`;

const POLICY = `
local queue_helper = require('policy-extras.queue'):setup { DIR .. '/queues.toml' }
kumo.on('http_message_generated', function(msg) queue_helper:apply(msg) end)
kumo.on('get_egress_path_config', function()
  return kumo.make_egress_path { prohibited_hosts = {}, enable_tls = 'Disabled' }
end)
`;

// From `start` (taken before injecting) to the last delivery: the throttle's lower bound holds
// from its first check, which comes after `start`, whatever the machine's speed.
const took = (messages: readonly SinkMessage[], start: number) =>
  Math.max(...messages.map((m) => m.receivedAt)) - start;

describe('queue helper overall_max_message_rate, enforced', { timeout: 240_000 }, () => {
  let dir: PolicyDir;
  let daemon: DaemonProcess | undefined;
  let sink: SmtpSink;

  beforeAll(async () => {
    sink = await startSmtpSink({ tls: false });
    dir = await writePolicy(POLICY);
    await writeFile(join(dir.dir, 'queues.toml'), QUEUES(sink.port));
    daemon = await startDaemon(dir.policy);
  });
  afterAll(async () => {
    await daemon?.kill();
    await sink?.close();
    await dir?.cleanup();
  });

  /** Injects one message per recipient for `tenant`, alternating between the two domains. */
  const inject = async (tenant: string, count: number) => {
    const response = await fetch(`${daemon!.http}/api/inject/v1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        envelope_sender: 'sender@example.org',
        content: `X-Tenant: ${tenant}\r\nSubject: overall\r\n\r\nhello\r\n`,
        recipients: Array.from({ length: count }, (_, i) => ({
          email: `${tenant}-${i}@${DOMAINS[i % 2]}`,
        })),
      }),
    });
    expect(response.status).toBe(200);
  };
  const records = async (pick: (r: LogRecord) => boolean) =>
    (await readLogRecords(dir.logs)).filter(pick);
  const of = (tenant: string) => (m: SinkMessage) => m.recipients[0]!.startsWith(`${tenant}-`);

  it("a tenant's 5/s spans both of its domains; another tenant's mail to them is not held", async () => {
    const n = 12;
    const start = Date.now();
    await Promise.all([inject('t1', n), inject('t2', n)]);
    const all = await sink.waitForMessages(2 * n, 60_000);
    const t1 = all.filter(of('t1'));
    expect(t1).toHaveLength(n);
    expect(new Set(t1.map((m) => m.recipients[0]!.split('@')[1]))).toEqual(new Set(DOMAINS));
    // One at once, then one every 200 ms across both queues: the last no sooner than
    // (n - 1) × 200 ms after the first check. Each queue alone would take half that.
    expect(took(t1, start)).toBeGreaterThanOrEqual((n - 1) * 200 - 100);

    // Both of t1's queues were held, each with KumoMTA's Delayed record; t2's never.
    const delayed = await eventually(async () => {
      const found = await records((r) => r.type === 'Delayed');
      const queues = new Set(found.map((r) => r.queue));
      return DOMAINS.every((d) => queues.has(`t1@${d}`)) ? found : undefined;
    }, 30_000);
    for (const record of delayed) {
      expect(record.queue).toMatch(/^t1@/);
      expect(record.response.content).toMatch(
        /^Context: throttle_insert_ready_queue\. Next due in/,
      );
    }
    expect(await records((r) => r.type === 'TransientFailure' || r.type === 'Bounce')).toEqual([]);
    const metrics = await (await fetch(`${daemon!.http}/metrics`)).text();
    for (const d of DOMAINS) {
      const line = new RegExp(
        `delayed_due_to_throttle_insert_ready\\{queue="t1@${d.replaceAll('.', '\\.')}"\\} (\\d+)`,
      ).exec(metrics);
      expect(Number(line?.[1])).toBeGreaterThanOrEqual(1);
    }
    expect(metrics).not.toMatch(/delayed_due_to_throttle_insert_ready\{queue="t2@/);
  });
});
