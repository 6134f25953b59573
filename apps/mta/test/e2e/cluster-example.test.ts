import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type RedisService,
  type SmtpSink,
  startRedis,
  startSmtpSink,
} from '@sterna/protocol-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callJson } from '../http/fixtures.js';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { eventually } from '../support/mail.js';

// examples/cluster/init.lua exactly as the example ships it, run as two nodes of a fleet on one
// real redis-server: what its README shows — one limit for the fleet, one suspension for all —
// is what this test checks. Ports come from the kernel (the policy's STERNA_* overrides).
const POLICY = fileURLToPath(new URL('../../../../examples/cluster/init.lua', import.meta.url));

describe('examples/cluster', { timeout: 240_000 }, () => {
  let redis: RedisService;
  let sink: SmtpSink;
  let dir: string;
  const nodes: DaemonProcess[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    sink = await startSmtpSink();
    dir = await mkdtemp(join(tmpdir(), 'sterna-cluster-example-'));
    for (const node of [1, 2]) {
      nodes.push(
        await startDaemon(POLICY, {
          env: {
            STERNA_NODE: String(node),
            STERNA_REDIS: redis.url,
            STERNA_SINK: `127.0.0.1:${sink.port}`,
            STERNA_SMTP: '127.0.0.1:0',
            STERNA_HTTP: '127.0.0.1:0',
            STERNA_DATA: join(dir, `node${node}`),
          },
        }),
      );
    }
  }, 240_000);

  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await sink?.close();
    await redis?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const inject = (node: DaemonProcess, count: number, tag: string) =>
    callJson('POST', `${node.http}/api/inject/v1`, {
      envelope_sender: 'demo@example.org',
      content: 'Subject: fleet demo\r\n\r\nhello\r\n',
      recipients: Array.from({ length: count }, (_, i) => ({ email: `${tag}${i}@shared.example` })),
    });

  it('keeps the fleet to 10 messages a minute over one connection, whichever node sends', async () => {
    const start = Date.now();
    for (const [i, node] of nodes.entries()) {
      const answer = await inject(node, 8, `n${i}-`);
      expect(answer.json).toMatchObject({ success_count: 8 });
    }
    // The throttle's burst (10) goes first; two more may follow only as the minute allows.
    await eventually(
      () => (sink.messages.length >= 10 ? true : undefined),
      120_000,
      '10 deliveries',
    );
    const elapsedMinutes = (Date.now() - start) / 60_000;
    expect(sink.messages.length).toBeLessThanOrEqual(10 + Math.ceil(elapsedMinutes * 10) + 1);
    expect(sink.peakConnections()).toBe(1);
  });

  it('a suspension made through node 1 is listed by node 2, and a cancel on node 2 ends it', async () => {
    const [one, two] = nodes as [DaemonProcess, DaemonProcess];
    const made = await callJson('POST', `${one.http}/api/admin/suspend/v1`, {
      domain: 'shared.example',
      reason: 'provider maintenance',
      duration: '10m',
    });
    const { id } = made.json as { id: string };
    expect(id).toBeTruthy();
    const listed = await eventually(
      async () => {
        const list = (await callJson('GET', `${two.http}/api/admin/suspend/v1`)).json as {
          id: string;
          reason: string;
        }[];
        return list.find((entry) => entry.id === id);
      },
      30_000,
      'the suspension on node 2',
    );
    expect(listed.reason).toBe('provider maintenance');
    expect((await callJson('DELETE', `${two.http}/api/admin/suspend/v1`, { id })).status).toBe(200);
    await eventually(
      async () => {
        const list = (await callJson('GET', `${one.http}/api/admin/suspend/v1`)).json as unknown[];
        return list.length === 0 ? true : undefined;
      },
      30_000,
      'the cancel on node 1',
    );
  });
});
