import type { LogRecord } from '@sterna/core/engine';
import { type SinkMessage, type SmtpSink, startSmtpSink } from '@sterna/protocol-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLogRecords } from '../../src/logs/index.js';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { eventually, maildirMessages } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';

// One daemon, one sink per shaped destination, so each sink sees exactly one path's traffic.
// Every destination is an mx_list smarthost on loopback; the egress path is chosen by domain.
const SINKS = ['slow', 'fast', 'single', 'shared', 'warmup', 'qrate', 'policy'] as const;
type SinkName = (typeof SINKS)[number];

const POLICY = (ports: Record<SinkName, number>) => `
local PORTS = ${JSON.stringify(ports).replace(/"(\w+)":/g, '$1 = ')}
kumo.on('get_queue_config', function(domain)
  local name = domain:match('^([%w]+)%.shaping%.test$')
  if domain == 'held.shaping.test' or domain == 'brief.shaping.test' then
    return kumo.make_queue_config { protocol = { maildir_path = DIR .. '/maildir' } }
  end
  return kumo.make_queue_config {
    retry_interval = '1h',
    egress_pool = name == 'shared' and 'two' or nil,
    max_message_rate = name == 'qrate' and '5/s' or nil,
    protocol = { smtp = { mx_list = { '127.0.0.1:' .. PORTS[name] } } },
  }
end)
kumo.on('get_egress_pool', function(name)
  return kumo.make_egress_pool { name = name, entries = { { name = 'ip-2' }, { name = 'ip-3' } } }
end)
kumo.on('get_egress_source', function(name)
  return kumo.make_egress_source {
    name = name, source_address = name == 'ip-2' and '127.0.0.2' or '127.0.0.3',
  }
end)
local PATHS = {
  slow = { max_message_rate = '5/s' },
  single = { connection_limit = 1, max_deliveries_per_connection = 3 },
  shared = { additional_connection_limits = { ['shared-sink'] = 1 } },
  warmup = { source_selection_rate = '2/day' },
}
-- A policy's own throttle, shared by every Lua context: five a second, one at a time.
kumo.on('throttle_insert_ready_queue', function(msg)
  if msg:queue_name() == 'policy.shaping.test' then
    kumo.make_throttle('policy-throttle', '5/s,max_burst=1'):delay_message_if_throttled(msg)
  end
end)
kumo.on('get_egress_path_config', function(domain, source, site)
  local params = { prohibited_hosts = {}, enable_tls = 'Disabled' }
  for k, v in pairs(PATHS[domain:match('^([%w]+)%.') ] or {}) do params[k] = v end
  return kumo.make_egress_path(params)
end)
`;

// From `start` (taken before injecting) to the last delivery: a throttle's lower bound holds
// from its first check, which comes after `start`, whatever the machine's speed.
const took = (messages: readonly SinkMessage[], start: number) =>
  Math.max(...messages.map((m) => m.receivedAt)) - start;

describe('traffic shaping, enforced', { timeout: 240_000 }, () => {
  let dir: PolicyDir;
  let daemon: DaemonProcess | undefined;
  const sinks = {} as Record<SinkName, SmtpSink>;

  beforeAll(async () => {
    for (const name of SINKS) sinks[name] = await startSmtpSink({ tls: false });
    const ports = Object.fromEntries(SINKS.map((n) => [n, sinks[n].port])) as Record<
      SinkName,
      number
    >;
    dir = await writePolicy(POLICY(ports));
    daemon = await startDaemon(dir.policy);
  });
  afterAll(async () => {
    await daemon?.kill();
    for (const sink of Object.values(sinks)) await sink.close();
    await dir?.cleanup();
  });

  const inject = async (domain: string, count: number, prefix = 'user') => {
    const response = await fetch(`${daemon!.http}/api/inject/v1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        envelope_sender: 'sender@example.org',
        content: 'Subject: shaped\r\n\r\nhello\r\n',
        recipients: Array.from({ length: count }, (_, i) => ({
          email: `${prefix}${i}@${domain}`,
        })),
      }),
    });
    expect(response.status).toBe(200);
  };
  const admin = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${daemon!.http}/api/admin/${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  };
  const records = async (pick: (r: LogRecord) => boolean) =>
    (await readLogRecords(dir.logs)).filter(pick);

  it('a 5/s path spreads 30 messages over five seconds; an unthrottled one in the same run does not', async () => {
    const start = Date.now();
    await Promise.all([inject('slow.shaping.test', 30), inject('fast.shaping.test', 30)]);
    const [slow, fast] = await Promise.all([
      sinks.slow.waitForMessages(30, 60_000),
      sinks.fast.waitForMessages(30, 60_000),
    ]);
    // GCRA at 5/s with the default burst (5): five at once, then one every 200 ms. The last
    // one cannot leave before 25 × 200 ms after the first.
    expect(took(slow, start)).toBeGreaterThanOrEqual(4900);
    expect(took(fast, start)).toBeLessThan(took(slow, start) / 2);
    // Waiting on a throttle is not a failure.
    const failures = await records(
      (r) => r.type === 'TransientFailure' && r.queue === 'slow.shaping.test',
    );
    expect(failures).toEqual([]);
  });

  it('connection_limit = 1 never opens a second connection, and reconnects as the path says', async () => {
    await inject('single.shaping.test', 12);
    await sinks.single.waitForMessages(12, 60_000);
    expect(sinks.single.peakConnections()).toBe(1);
    // max_deliveries_per_connection = 3: at least four sessions for twelve messages.
    expect(new Set(sinks.single.messages.map((m) => m.sessionId)).size).toBeGreaterThanOrEqual(4);
  });

  it('additional_connection_limits is shared by the ready queues that name it', async () => {
    await inject('shared.shaping.test', 20);
    const messages = await sinks.shared.waitForMessages(20, 60_000);
    // Two sources, two ready queues, one limit of one between them.
    expect(new Set(messages.map((m) => m.remoteAddress))).toEqual(
      new Set(['127.0.0.2', '127.0.0.3']),
    );
    expect(sinks.shared.peakConnections()).toBe(1);
  });

  it("source_selection_rate = '2/day' lets two through and gives the rest KumoMTA's text", async () => {
    await inject('warmup.shaping.test', 10);
    const failed = await eventually(async () => {
      const found = await records(
        (r) => r.type === 'TransientFailure' && r.queue === 'warmup.shaping.test',
      );
      return found.length >= 8 ? found : undefined;
    }, 60_000);
    await sinks.warmup.waitForMessages(2, 30_000);
    const delivered = await eventually(async () => {
      const found = await records(
        (r) => r.type === 'Delivery' && r.queue === 'warmup.shaping.test',
      );
      return found.length >= 2 ? found : undefined;
    }, 30_000);
    expect(delivered).toHaveLength(2);
    expect(sinks.warmup.messages).toHaveLength(2);
    expect(failed).toHaveLength(8);
    for (const record of failed) {
      expect(record.response).toMatchObject({
        code: 451,
        enhanced_code: { class: 4, subject: 4, detail: 4 },
        content:
          'KumoMTA internal: no sources for warmup.shaping.test pool=`unspecified` are eligible for selection at this time',
      });
      expect(record.egress_pool).toBe('unspecified');
    }
  });

  it("a queue's max_message_rate holds messages in order, with Delayed records and KumoMTA's metric", async () => {
    const start = Date.now();
    await inject('qrate.shaping.test', 15);
    const messages = await sinks.qrate.waitForMessages(15, 60_000);
    // Five at once, then one every 200 ms.
    expect(took(messages, start)).toBeGreaterThanOrEqual(1900);
    const delayed = await eventually(async () => {
      const found = await records((r) => r.type === 'Delayed' && r.queue === 'qrate.shaping.test');
      return found.length >= 10 ? found : undefined;
    }, 30_000);
    expect(delayed[0]!.response.code).toBe(400);
    expect(delayed[0]!.response.content).toMatch(
      /^Context: max_message_rate 5\/s of scheduled queue qrate\.shaping\.test\. Next due in \d+s at \d{4}-/,
    );
    const metrics = await (await fetch(`${daemon!.http}/metrics`)).text();
    const line = /delayed_due_to_message_rate_throttle\{queue="qrate\.shaping\.test"\} (\d+)/.exec(
      metrics,
    );
    expect(Number(line?.[1])).toBeGreaterThanOrEqual(10);
  });

  it('throttle_insert_ready_queue with kumo.make_throttle spaces a queue as the policy says', async () => {
    const start = Date.now();
    await inject('policy.shaping.test', 8);
    const messages = await sinks.policy.waitForMessages(8, 60_000);
    // One at once, then one every 200 ms.
    expect(took(messages, start)).toBeGreaterThanOrEqual(1300);
    const delayed = await eventually(async () => {
      const found = await records((r) => r.type === 'Delayed' && r.queue === 'policy.shaping.test');
      return found.length > 0 ? found : undefined;
    }, 30_000);
    expect(delayed[0]!.response.content).toMatch(
      /^Context: throttle_insert_ready_queue\. Next due in/,
    );
    expect(
      await records((r) => r.type === 'TransientFailure' && r.queue === 'policy.shaping.test'),
    ).toEqual([]);
  });

  it('a scheduled-queue suspension holds without backoff and its cancellation releases at once', async () => {
    const { id } = (await admin('POST', 'suspend/v1', {
      domain: 'held.shaping.test',
      reason: 'postmaster asked us to pause',
      duration: '10m',
    })) as { id: string };
    await inject('held.shaping.test', 3);
    const held = await eventually(async () => {
      const found = await records(
        (r) => r.type === 'TransientFailure' && r.queue === 'held.shaping.test',
      );
      return found.length >= 3 ? found : undefined;
    }, 30_000);
    for (const record of held) {
      expect(record.response.content).toBe(
        'KumoMTA internal: scheduled queue is suspended: postmaster asked us to pause',
      );
      // No attempt was made, so none is counted: no exponential backoff piles up.
      expect(record.num_attempts).toBe(0);
    }
    expect(await maildirMessages(dir.maildir)).toHaveLength(0);
    await admin('DELETE', 'suspend/v1', { id });
    await eventually(
      async () => ((await maildirMessages(dir.maildir)).length >= 3 ? true : undefined),
      15_000,
      'held messages delivered after the suspension was cancelled',
    );
  });

  it('a short suspension lets its mail go within seconds of its end', async () => {
    const before = (await maildirMessages(dir.maildir)).length;
    const started = Date.now();
    await admin('POST', 'suspend/v1', {
      domain: 'brief.shaping.test',
      reason: 'brief pause',
      duration: 3,
    });
    await inject('brief.shaping.test', 2);
    await eventually(
      async () => ((await maildirMessages(dir.maildir)).length >= before + 2 ? true : undefined),
      30_000,
      'messages delivered after a 3 s suspension',
    );
    const took = Date.now() - started;
    // Not before the suspension's end; well within seconds after it (a retry schedule would
    // have waited twenty minutes).
    expect(took).toBeGreaterThanOrEqual(2900);
    expect(took).toBeLessThan(20_000);
  });
});
