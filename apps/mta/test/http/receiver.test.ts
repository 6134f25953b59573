import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, systemClock } from '@sterna/core';
import { DEFAULT_RETRY_POLICY, DriverRegistry, type LogRecord } from '@sterna/core/engine';
import { PolicyRuntime } from '@sterna/lua';
import { maildirDriver } from '@sterna/protocol-maildir';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type HttpListener, startHttpListener } from '../../src/http/index.js';
import { LuaPolicy } from '../../src/policy/lua-policy.js';
import type { ReceptionPolicy } from '../../src/policy/types.js';
import { QueueManager } from '../../src/queue/queue-manager.js';
import type { EnginePolicy } from '../../src/queue/types.js';
import { Receiver } from '../../src/reception/receiver.js';
import { openSpool, type Spool } from '../../src/spool/index.js';
import { postJson, TestPolicy } from './fixtures.js';

// The listener in front of the real engine: the spool on disk, the queue manager, the receiver.
let dir: string;
let spool: Spool | undefined;
let queues: QueueManager | undefined;
let runtime: PolicyRuntime | undefined;
let listener: HttpListener | undefined;
let records: LogRecord[];

const driverContext = {
  logger: silentLogger,
  clock: systemClock,
  signal: new AbortController().signal,
  resolver: undefined as never,
  hostname: 'sterna.test',
};

async function start(options: {
  reception: ReceptionPolicy;
  engine: EnginePolicy;
  registry: DriverRegistry;
  minFreeSpace?: number;
}): Promise<{ url: string; spool: Spool }> {
  spool = await openSpool({
    dataPath: join(dir, 'data'),
    metaPath: join(dir, 'meta'),
    minFreeSpace: options.minFreeSpace ?? 0,
  });
  records = [];
  const logs = { write: (record: LogRecord) => void records.push(record) };
  const q = new QueueManager({
    spool,
    policy: options.engine,
    registry: options.registry,
    logs,
    driverContext,
    nodeId: 'node-1',
  });
  queues = q;
  listener = await startHttpListener(
    {
      listen: '127.0.0.1:0',
      hostname: 'mta.sterna.test',
      trusted_hosts: ['127.0.0.1'],
      use_tls: false,
      request_body_limit: 2 * 1024 * 1024,
    },
    {
      policy: options.reception,
      receiver: new Receiver({ spool, queues: q, logs, nodeId: 'node-1' }),
      admin: q.admin,
      stats: () => q.stats(),
      logs,
      nodeId: 'node-1',
      log: silentLogger,
      processMetrics: false,
    },
  );
  return { url: `http://${listener.address}`, spool };
}

/** Polls (every 50 ms, at most `ms`) until `check` returns a value. */
async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  ms = 15_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sterna-http-'));
});
afterEach(async () => {
  await listener?.close();
  await queues?.stop(1000);
  await spool?.close();
  await runtime?.close();
  listener = undefined;
  queues = undefined;
  spool = undefined;
  runtime = undefined;
  await rm(dir, { recursive: true, force: true });
});

// A queue config naming a maildir; with no driver registered it cannot be delivered, so the
// message stays spooled and queued (the engine logs a transient failure and retries later).
const undeliverable: EnginePolicy = {
  queueConfig: async () => ({
    ...DEFAULT_RETRY_POLICY,
    protocol: { maildir_path: '/nonexistent' },
    refresh_interval: 60,
  }),
  egressPath: async () => {
    throw new Error('not used');
  },
};

describe('inject into the real receiver, spool and queue manager', () => {
  it('spools each rendered copy, logs Reception with protocol HTTP, and admin sees it queued', async () => {
    const { url } = await start({
      reception: new TestPolicy(),
      engine: undeliverable,
      registry: new DriverRegistry([]),
    });
    const res = await postJson(`${url}/api/inject/v1`, {
      envelope_sender: 'sender@x.example',
      content: 'Subject: for {{ name }}\n\nHello {{ name }}\n',
      recipients: [
        { email: 'one@y.example', name: 'One' },
        { email: 'two@z.example', name: 'Two', metadata: { order: 7 } },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      success_count: 2,
      fail_count: 0,
      failed_recipients: [],
      errors: [],
    });

    const receptions = records.filter((r) => r.type === 'Reception');
    expect(receptions.map((r) => r.recipient)).toEqual(['one@y.example', 'two@z.example']);
    for (const [i, r] of receptions.entries()) {
      expect(r).toMatchObject({
        sender: 'sender@x.example',
        reception_protocol: 'HTTP',
        peer_address: { name: '', addr: '127.0.0.1' },
        nodeid: 'node-1',
      });
      expect(r.queue).toBe(i === 0 ? 'y.example' : 'z.example');
      const bytes = Buffer.from(await spool!.read(r.id)).toString('utf8');
      const name = i === 0 ? 'One' : 'Two';
      expect(bytes).toMatch(
        new RegExp(
          `^X-KumoRef: [^\\r\\n]+\\r\\nSubject: for ${name}\\r\\n\\r\\nHello ${name}\\r\\n$`,
        ),
      );
      expect(r.size).toBe(Buffer.byteLength(bytes));
    }
    expect(spool!.stats().messages).toBe(2);

    // inspect-message through the queue manager's admin API, once the engine has tried (no
    // driver: a transient failure) and put the message back in its scheduled queue.
    const second = receptions[1]!.id;
    const inspected = await eventually(async () => {
      const r = await fetch(`${url}/api/admin/inspect-message/v1?id=${second}&want_body=true`);
      return r.status === 200 ? r : undefined;
    });
    expect(inspected.status).toBe(200);
    const body = (await inspected.json()) as {
      id: string;
      message: { recipient: unknown; meta: Record<string, unknown>; data?: string };
    };
    expect(body.id).toBe(second);
    expect(body.message.recipient).toBe('two@z.example');
    expect(body.message.meta).toMatchObject({
      reception_protocol: 'HTTP',
      extra: { order: 7 },
      http_auth: null,
    });
    expect(body.message.data).toContain('Hello Two');

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('total_messages_received{service="http_listener"} 2\n');
  });

  it('answers 503 and acknowledges nothing when the spool refuses the messages', async () => {
    const { url } = await start({
      reception: new TestPolicy(),
      engine: undeliverable,
      registry: new DriverRegistry([]),
      minFreeSpace: Number.MAX_SAFE_INTEGER,
    });
    const res = await postJson(`${url}/api/inject/v1`, {
      envelope_sender: 's@x.example',
      content: 'Subject: hi\n\nbody\n',
      recipients: [{ email: 'a@y.example' }],
    });
    expect(res.status).toBe(503);
    expect(res.text).toBe('disk is too full');
    expect(spool!.stats().messages).toBe(0);
    expect(records.filter((r) => r.type === 'Reception')).toEqual([]);
  });

  it('runs a Lua policy: Basic auth, http_message_generated with kumo.reject, delivery into a maildir', async () => {
    const policyFile = join(dir, 'policy.lua');
    await writeFile(
      policyFile,
      `local kumo = require 'kumo'
kumo.on('http_server_validate_auth_basic', function(user, password)
  return user == 'api' and password == 'secret'
end)
kumo.on('http_message_generated', function(msg, auth)
  if msg:recipient().email == 'blocked@y.example' then
    kumo.reject(550, '5.7.1 blocked by policy')
  end
  msg:set_meta('tenant', 'acme')
  msg:set_meta('auth_user', auth.identities[1] and auth.identities[1].identity or 'none')
end)
kumo.on('get_queue_config', function(domain, tenant)
  return kumo.make_queue_config { protocol = { maildir_path = ${JSON.stringify(join(dir, 'md'))} .. '/' .. tenant } }
end)
`,
    );
    runtime = await PolicyRuntime.start({ policy: policyFile, poolSize: 1, spare: false });
    const lua = new LuaPolicy(runtime);
    const { url } = await start({
      reception: lua,
      engine: lua,
      registry: new DriverRegistry([maildirDriver]),
    });
    const res = await postJson(
      `${url}/api/inject/v1`,
      {
        envelope_sender: 'sender@x.example',
        content: {
          subject: 'Hi {{ name }}',
          text_body: 'Dear {{ name }},\nwelcome.\n',
          from: { email: 'sender@x.example' },
        },
        recipients: [
          { email: 'ok@y.example', name: 'Okay' },
          { email: 'blocked@y.example', name: 'Nope' },
        ],
      },
      { authorization: `Basic ${Buffer.from('api:secret').toString('base64')}` },
    );
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      success_count: 1,
      fail_count: 1,
      failed_recipients: ['blocked@y.example'],
      errors: ['blocked@y.example: 550 5.7.1 blocked by policy'],
    });
    const maildir = join(dir, 'md', 'acme', 'new');
    const files = await eventually(async () => {
      const names = await readdir(maildir).catch(() => []);
      return names.length > 0 ? names : undefined;
    });
    expect(files).toHaveLength(1);
    const delivered = await readFile(join(maildir, files[0]!), 'utf8');
    expect(delivered).toMatch(/^X-KumoRef: /);
    expect(delivered).toContain('To: Okay <ok@y.example>\r\n');
    expect(delivered).toContain('Subject: Hi Okay\r\n');
    expect(delivered).toContain('Dear Okay,\r\nwelcome.\r\n');
    const reception = records.find((r) => r.type === 'Reception');
    expect(reception).toMatchObject({
      recipient: 'ok@y.example',
      queue: 'acme@y.example',
      reception_protocol: 'HTTP',
    });
    await eventually(() => (records.some((r) => r.type === 'Delivery') ? true : undefined));
    const inspected = await fetch(`${url}/api/admin/inspect-message/v1?id=${reception!.id}`);
    expect(inspected.status).toBe(404);
  });
});
