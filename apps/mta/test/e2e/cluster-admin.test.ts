import {
  type RedisService,
  type SmtpSink,
  startRedis,
  startSmtpSink,
} from '@sterna/protocol-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLogRecords } from '../../src/logs/index.js';
import { callJson } from '../http/fixtures.js';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { eventually, sendMail, testMessage } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';

// Two nodes, each with its own spool, logs and ports, sharing one real redis through
// kumo.configure_redis_throttles, and the same SMTP sinks (so a ready queue has the same name on
// both). ready.cluster.test has a sink of its own: its ready queue is new when the test suspends
// it. Retries are an hour apart, so only a lever's end or its cancellation lets held mail go
// within the test.
const POLICY = (sink: number, readySink: number) => `
kumo.on('get_queue_config', function(domain)
  local port = domain == 'ready.cluster.test' and ${readySink} or ${sink}
  return kumo.make_queue_config {
    retry_interval = '1h',
    protocol = { smtp = { mx_list = { '127.0.0.1:' .. port } } },
  }
end)
kumo.on('get_egress_path_config', function(domain, source, site)
  return kumo.make_egress_path { prohibited_hosts = {}, enable_tls = 'Disabled' }
end)
`;
const INIT = (redis: string) => `kumo.configure_redis_throttles { node = '${redis}' }`;

interface Node {
  readonly name: string;
  readonly dir: PolicyDir;
  daemon: DaemonProcess;
}

describe('admin levers shared by two nodes through redis', { timeout: 600_000 }, () => {
  let redis: RedisService;
  let sink: SmtpSink;
  let readySink: SmtpSink;
  let a: Node;
  let b: Node;

  const start = (dir: PolicyDir): Promise<DaemonProcess> =>
    startDaemon(dir.policy, { env: { STERNA_LOG: 'info' }, timeoutMs: 180_000 });
  const api = (node: Node, method: string, path: string, body?: unknown) =>
    callJson(method, `${node.daemon.http}/api/admin/${path}`, body);
  const send = (node: Node, to: string, subject: string) =>
    sendMail(node.daemon.smtp, { from: 'tests@example.org', to: [to] }, testMessage(subject));
  type LogRecord = Awaited<ReturnType<typeof readLogRecords>>[number];
  const records = async (node: Node, pick: (r: LogRecord) => boolean) =>
    (await readLogRecords(node.dir.logs)).filter(pick);
  const delivered = (domain: string) =>
    [...sink.messages, ...readySink.messages]
      .flatMap((m) => m.recipients)
      .filter((r) => r.endsWith(`@${domain}`));
  const listed = async (node: Node, path: string) =>
    ((await api(node, 'GET', path)).json as { id: string }[]).map((e) => e.id);

  beforeAll(async () => {
    redis = await startRedis();
    sink = await startSmtpSink({ tls: false });
    readySink = await startSmtpSink({ tls: false });
    const dirA = await writePolicy(POLICY(sink.port, readySink.port), INIT(redis.url));
    const dirB = await writePolicy(POLICY(sink.port, readySink.port), INIT(redis.url));
    // One at a time: two starts at once on a loaded 2-core machine only make both slower.
    a = { name: 'a', dir: dirA, daemon: await start(dirA) };
    b = { name: 'b', dir: dirB, daemon: await start(dirB) };
  }, 420_000);
  afterAll(async () => {
    await a?.daemon.stop();
    await b?.daemon.stop();
    await sink?.close();
    await readySink?.close();
    await redis?.close();
    await a?.dir.cleanup();
    await b?.dir.cleanup();
  });

  it('a suspension made on A holds mail injected into B and is listed by B; cancelling it on B releases both nodes’ mail', async () => {
    const made = await api(a, 'POST', 'suspend/v1', {
      domain: 'held.cluster.test',
      reason: 'postmaster asked the fleet to pause',
      duration: '10m',
    });
    expect(made.status).toBe(200);
    const { id } = made.json as { id: string };
    await eventually(
      async () => ((await listed(b, 'suspend/v1')).includes(id) ? true : undefined),
      30_000,
      'the suspension listed by B',
    );
    await send(b, 'one@held.cluster.test', 'held on b');
    await send(a, 'two@held.cluster.test', 'held on a');
    for (const node of [a, b]) {
      const held = await eventually(
        async () => {
          const found = await records(
            node,
            (r) => r.type === 'TransientFailure' && r.queue === 'held.cluster.test',
          );
          return found.length > 0 ? found : undefined;
        },
        30_000,
        `the suspension's TransientFailure on ${node.name}`,
      );
      expect(held[0]!.response.content).toBe(
        'KumoMTA internal: scheduled queue is suspended: postmaster asked the fleet to pause',
      );
    }
    expect(delivered('held.cluster.test')).toEqual([]);

    expect((await api(b, 'DELETE', 'suspend/v1', { id })).status).toBe(200);
    await eventually(
      () => (delivered('held.cluster.test').length === 2 ? true : undefined),
      30_000,
      'both held messages delivered after the cancel on B',
    );
    expect(delivered('held.cluster.test').sort()).toEqual([
      'one@held.cluster.test',
      'two@held.cluster.test',
    ]);
    await eventually(
      async () => ((await listed(a, 'suspend/v1')).includes(id) ? undefined : true),
      30_000,
      'the suspension gone from A’s list',
    );
  });

  it('a ready-queue suspension made on B holds A’s connections until it is cancelled', async () => {
    const resolved = await api(b, 'GET', 'resolve-egress-path/v1?domain=ready.cluster.test');
    const name = (resolved.json as { queue_name: string }).queue_name;
    const made = await api(b, 'POST', 'suspend-ready-q/v1', {
      name,
      reason: 'the provider asked us to slow down',
      duration: '10m',
    });
    expect(made.status).toBe(200);
    const { id } = made.json as { id: string };
    await eventually(
      async () => ((await listed(a, 'suspend-ready-q/v1')).includes(id) ? true : undefined),
      30_000,
      'the ready-queue suspension listed by A',
    );
    await send(a, 'three@ready.cluster.test', 'held in a ready queue on a');
    await eventually(
      async () => {
        const r = await api(a, 'GET', `inspect-ready-q/v1?queue_name=${encodeURIComponent(name)}`);
        const state = (r.json as { state?: { ready_count: number; suspended: { id: string } } })
          ?.state;
        return state?.ready_count === 1 && state.suspended?.id === id ? true : undefined;
      },
      30_000,
      'the message waiting in A’s suspended ready queue',
    );
    expect(delivered('ready.cluster.test')).toEqual([]);
    expect((await api(b, 'DELETE', 'suspend-ready-q/v1', { id })).status).toBe(200);
    await eventually(
      () => (delivered('ready.cluster.test').length === 1 ? true : undefined),
      30_000,
      'A’s message delivered after the cancel on B',
    );
  });

  it('an admin bounce made on A bounces a message queued on B, and one arriving there later', async () => {
    // B holds the message (a suspension made on B) so that it is queued there when A bounces.
    const suspended = await api(b, 'POST', 'suspend/v1', {
      domain: 'bounce.cluster.test',
      reason: 'holding for the bounce',
      duration: '10m',
    });
    const suspension = (suspended.json as { id: string }).id;
    await send(b, 'four@bounce.cluster.test', 'bounced on b');
    await eventually(
      async () => {
        const found = await records(
          b,
          (r) => r.type === 'TransientFailure' && r.queue === 'bounce.cluster.test',
        );
        return found.length > 0 ? true : undefined;
      },
      30_000,
      'the message held on B',
    );
    const bounced = await api(a, 'POST', 'bounce/v1', {
      domain: 'bounce.cluster.test',
      reason: 'the fleet says no',
      duration: '10m',
    });
    expect(bounced.status).toBe(200);
    const bounceId = (bounced.json as { id: string }).id;
    const onB = await eventually(
      async () => {
        const found = await records(b, (r) => r.type === 'AdminBounce');
        return found.length > 0 ? found : undefined;
      },
      30_000,
      'the AdminBounce record on B',
    );
    expect(onB[0]).toMatchObject({ recipient: 'four@bounce.cluster.test' });
    expect(onB[0]!.response.content).toBe('Administrator bounced with reason: the fleet says no');
    expect(await listed(b, 'bounce/v1')).toContain(bounceId);

    // The rule keeps bouncing new matches on every node for its duration.
    await send(b, 'five@bounce.cluster.test', 'bounced later on b');
    await eventually(
      async () => {
        const found = await records(b, (r) => r.type === 'AdminBounce');
        return found.length >= 2 ? true : undefined;
      },
      30_000,
      'the later message bounced on B',
    );
    expect(await records(a, (r) => r.type === 'AdminBounce')).toEqual([]);
    expect(delivered('bounce.cluster.test')).toEqual([]);
    await api(a, 'DELETE', 'bounce/v1', { id: bounceId });
    await api(a, 'DELETE', 'suspend/v1', { id: suspension });
  });

  it('a short suspension ends on both nodes without anyone cancelling it', async () => {
    const made = await api(a, 'POST', 'suspend/v1', {
      domain: 'short.cluster.test',
      reason: 'a short pause',
      duration: '4s',
    });
    const { id } = made.json as { id: string };
    await eventually(
      async () => ((await listed(b, 'suspend/v1')).includes(id) ? true : undefined),
      30_000,
      'the short suspension listed by B',
    );
    await send(b, 'six@short.cluster.test', 'short on b');
    await send(a, 'seven@short.cluster.test', 'short on a');
    await eventually(
      () => (delivered('short.cluster.test').length === 2 ? true : undefined),
      60_000,
      'both messages delivered once the suspension ended',
    );
    for (const node of [a, b]) expect(await listed(node, 'suspend/v1')).not.toContain(id);
  });

  it('a node restarted after levers changed loads them from redis before mail moves', async () => {
    // One suspension B has seen (and keeps in its state file), cancelled while B is down; one
    // made while B is down.
    const seen = (
      (
        await api(a, 'POST', 'suspend/v1', {
          domain: 'seen.cluster.test',
          reason: 'seen by b',
          duration: '10m',
        })
      ).json as { id: string }
    ).id;
    await eventually(
      async () => ((await listed(b, 'suspend/v1')).includes(seen) ? true : undefined),
      30_000,
      'the first suspension listed by B',
    );
    await b.daemon.stop();
    expect((await api(a, 'DELETE', 'suspend/v1', { id: seen })).status).toBe(200);
    const made = (
      (
        await api(a, 'POST', 'suspend/v1', {
          domain: 'restart.cluster.test',
          reason: 'made while b was down',
          duration: '10m',
        })
      ).json as { id: string }
    ).id;
    b.daemon = await start(b.dir);
    // Listed as soon as B is up: loaded at start, not by a later event.
    const afterStart = await listed(b, 'suspend/v1');
    expect(afterStart).toContain(made);
    expect(afterStart).not.toContain(seen);
    expect(b.daemon.output()).toContain('lever(s) of the fleet loaded');
    await send(b, 'eight@restart.cluster.test', 'held after the restart');
    await eventually(
      async () => {
        const found = await records(
          b,
          (r) => r.type === 'TransientFailure' && r.queue === 'restart.cluster.test',
        );
        return found.length > 0 ? true : undefined;
      },
      30_000,
      'the message held on the restarted B',
    );
    expect(delivered('restart.cluster.test')).toEqual([]);
    await api(b, 'DELETE', 'suspend/v1', { id: made });
    await eventually(
      () => (delivered('restart.cluster.test').length === 1 ? true : undefined),
      30_000,
      'the message delivered after the cancel',
    );
  });
});
