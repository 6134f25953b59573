import type { LogRecord } from '@sterna/core/engine';
import {
  type RedisService,
  type SinkMessage,
  type SmtpSink,
  startRedis,
  startSmtpSink,
} from '@sterna/protocol-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLogRecords } from '../../src/logs/index.js';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { eventually, maildirMessages } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';

// Two Sterna nodes, each with its own spool, logs and ports, sharing throttles and connection
// limits through one real redis-server. One sink per destination, so each sink sees exactly
// one egress path's traffic from both nodes.
const SINKS = ['rate', 'single', 'lease', 'outage', 'dark', 'nearby'] as const;
type SinkName = (typeof SINKS)[number];

const POLICY = (ports: Record<SinkName, number>) => `
local PORTS = ${JSON.stringify(ports).replace(/"(\w+)":/g, '$1 = ')}
kumo.on('get_queue_config', function(domain)
  local name = domain:match('^([%w]+)%.cluster%.test$')
  if name == 'inbox' then
    return kumo.make_queue_config { protocol = { maildir_path = DIR .. '/maildir' } }
  end
  return kumo.make_queue_config {
    retry_interval = '1h',
    max_message_rate = name == 'outage' and '1000/s' or nil,
    protocol = { smtp = { mx_list = { '127.0.0.1:' .. PORTS[name] } } },
  }
end)
local PATHS = {
  rate = { max_message_rate = '10/m' },
  single = { connection_limit = 1, max_deliveries_per_connection = 3, idle_timeout = '1s' },
  lease = { connection_limit = '1' },
  outage = { max_message_rate = '50/s', connection_limit = 2 },
  dark = {},
  nearby = { connection_limit = 'local:2' },
}
-- A policy throttle on the move to the ready queue: while redis is away it raises.
kumo.on('throttle_insert_ready_queue', function(msg)
  if msg:queue_name() == 'dark.cluster.test' then
    kumo.make_throttle('dark', '1000/s'):delay_message_if_throttled(msg)
  end
end)
kumo.on('get_egress_path_config', function(domain, source, site)
  local params = { prohibited_hosts = {}, enable_tls = 'Disabled' }
  for k, v in pairs(PATHS[domain:match('^([%w]+)%.')] or {}) do params[k] = v end
  return kumo.make_egress_path(params)
end)
`;

describe('two nodes sharing limits through redis', { timeout: 180_000 }, () => {
  let redis: RedisService;
  const dirs: PolicyDir[] = [];
  const nodes: DaemonProcess[] = [];
  const sinks = {} as Record<SinkName, SmtpSink>;

  beforeAll(async () => {
    redis = await startRedis();
    for (const name of SINKS) {
      // The lease sink never answers RCPT for `stall…` recipients: that session stays open.
      sinks[name] = await startSmtpSink({ tls: false });
    }
    const ports = Object.fromEntries(SINKS.map((n) => [n, sinks[n].port])) as Record<
      SinkName,
      number
    >;
    const init = `kumo.configure_redis_throttles { node = '${redis.url}', connection_lease_duration = '3s' }`;
    for (let i = 0; i < 2; i++) dirs.push(await writePolicy(POLICY(ports), init));
    nodes.push(
      ...(await Promise.all(
        dirs.map((d) => startDaemon(d.policy, { env: { STERNA_LOG: 'info' } })),
      )),
    );
  });
  afterAll(async () => {
    for (const node of nodes) await node.kill();
    for (const sink of Object.values(sinks)) await sink?.close();
    for (const dir of dirs) await dir.cleanup();
    await redis?.close();
  });

  const inject = async (node: DaemonProcess, domain: string, count: number, prefix: string) => {
    const response = await fetch(`${node.http}/api/inject/v1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        envelope_sender: 'sender@example.org',
        content: 'Subject: shared\r\n\r\nhello\r\n',
        recipients: Array.from({ length: count }, (_, i) => ({
          email: `${prefix}${i}@${domain}`,
        })),
      }),
    });
    expect(response.status).toBe(200);
  };
  const records = async (pick: (r: LogRecord) => boolean) =>
    (await Promise.all(dirs.map((d) => readLogRecords(d.logs)))).flat().filter(pick);

  it('logs that throttles are shared through redis', () => {
    for (const node of nodes) {
      expect(node.output()).toContain(`redis throttles: shared through ${redis.url}`);
    }
  });

  it("max_message_rate = '10/m' holds for both nodes together", async () => {
    const start = Date.now();
    await Promise.all([
      inject(nodes[0]!, 'rate.cluster.test', 8, 'a'),
      inject(nodes[1]!, 'rate.cluster.test', 8, 'b'),
    ]);
    // GCRA with the default burst (10): ten at once, then one every six seconds, whichever
    // node sends. By any moment t at most 10 + (t - start) / 6 s + 1 have arrived (a looser
    // bound the slower the machine); sixteen would arrive at once if each node had its own.
    const within = (messages: readonly SinkMessage[]) =>
      messages.every((m, i) => i + 1 <= 10 + (m.receivedAt - start) / 6000 + 1);
    await sinks.rate.waitForMessages(10, 60_000);
    expect(within(sinks.rate.messages)).toBe(true);
    await new Promise((r) => setTimeout(r, 4000));
    const seen = [...sinks.rate.messages];
    expect(within(seen)).toBe(true);
    expect(seen.length).toBeLessThanOrEqual(10 + (Date.now() - start) / 6000 + 1);
    // Both nodes sent some.
    const senders = new Set(seen.map((m) => m.recipients[0]![0]));
    expect(senders).toEqual(new Set(['a', 'b']));
  });

  it('connection_limit = 1 is one connection for the fleet: the sink never sees two', async () => {
    await Promise.all([
      inject(nodes[0]!, 'single.cluster.test', 10, 'a'),
      inject(nodes[1]!, 'single.cluster.test', 10, 'b'),
    ]);
    const messages = await sinks.single.waitForMessages(20, 90_000);
    expect(new Set(messages.map((m) => m.recipients[0]![0]))).toEqual(new Set(['a', 'b']));
    expect(sinks.single.peakConnections()).toBe(1);
  });

  it('redis stopped mid-run and started again: nothing is sent unchecked, nothing lost, nothing bounced', async () => {
    // Mid-run: the first batch is on its way when redis goes.
    await Promise.all([
      inject(nodes[0]!, 'outage.cluster.test', 10, 'a'),
      inject(nodes[1]!, 'outage.cluster.test', 10, 'b'),
    ]);
    await redis.stop();
    let darkDuringOutage: number;
    try {
      // Mail that arrives while redis is away is taken and waits: its policy throttle raises,
      // so the message stays scheduled and looks again shortly (it does not skip the throttle),
      // and its connection limit cannot be checked, so no connection is opened.
      await Promise.all([
        inject(nodes[0]!, 'dark.cluster.test', 5, 'a'),
        inject(nodes[1]!, 'dark.cluster.test', 5, 'b'),
      ]);
      await eventually(
        () => (nodes.every((n) => n.output().includes('is unreachable')) ? true : undefined),
        20_000,
        'the warning on both nodes',
      );
      // What no shared limit governs goes on: a 'local:2' connection limit, a maildir.
      await Promise.all([
        inject(nodes[0]!, 'nearby.cluster.test', 3, 'a'),
        inject(nodes[1]!, 'nearby.cluster.test', 3, 'b'),
        inject(nodes[0]!, 'inbox.cluster.test', 2, 'a'),
      ]);
      await sinks.nearby.waitForMessages(6, 30_000);
      await eventually(
        async () => ((await maildirMessages(dirs[0]!.maildir)).length === 2 ? true : undefined),
        30_000,
        'the maildir deliveries',
      );
      await new Promise((r) => setTimeout(r, 2000));
      darkDuringOutage = sinks.dark.messages.length;
    } finally {
      await redis.start();
    }
    expect(darkDuringOutage).toBe(0);
    await sinks.outage.waitForMessages(20, 90_000);
    await sinks.dark.waitForMessages(10, 90_000);
    await eventually(
      () => (nodes.every((n) => n.output().includes('reachable again')) ? true : undefined),
      20_000,
      'the line saying redis is back',
    );
    for (const node of nodes) {
      const warnings =
        node.output().match(/redis throttles: redis:\/\/\S+ is unreachable \(/g) ?? [];
      expect(warnings).toHaveLength(1);
      // The policy throttle that could not be checked was waited on, never skipped.
      expect(node.output()).not.toContain('throttle_insert_ready_queue failed');
    }
    const bounced = await records(
      (r) =>
        (r.type === 'Bounce' || r.type === 'TransientFailure') &&
        /^(outage|dark)\.cluster\.test$/.test(String(r.queue)),
    );
    expect(bounced).toEqual([]);
  });

  it('kill -9 of the node holding the only lease frees it after the lease time', async () => {
    const [holder, other] = nodes as [DaemonProcess, DaemonProcess];
    // The holder's session never gets an answer to RCPT: its connection, and the lease, stay.
    await inject(holder, 'lease.cluster.test', 1, 'stall');
    await eventually(() => (sinks.lease.sessions() === 1 ? true : undefined), 30_000, 'holder');
    await inject(other, 'lease.cluster.test', 2, 'b');
    // While the holder lives, the other node does not connect.
    await new Promise((r) => setTimeout(r, 2500));
    expect(sinks.lease.sessions()).toBe(1);
    expect(sinks.lease.messages).toHaveLength(0);
    await holder.kill();
    // The lease, no longer renewed, lapses (three seconds after its last renewal) and the other
    // node takes it: its mail arrives, still over one connection at a time.
    await sinks.lease.waitForMessages(2, 60_000);
    expect(sinks.lease.peakConnections()).toBe(1);
  });
});
