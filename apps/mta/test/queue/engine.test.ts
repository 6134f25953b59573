import { setMaxListeners } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, systemClock } from '@sterna/core';
import { DriverRegistry, type LogRecord, newSpoolId } from '@sterna/core/engine';
import { PolicyRuntime } from '@sterna/lua';
import { maildirDriver } from '@sterna/protocol-maildir';
import { smtpDriver } from '@sterna/protocol-smtp';
import { type SmtpSink, startDnsServer, startSmtpSink } from '@sterna/protocol-testkit';
import { SMTPServer } from 'smtp-server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SwitchableResolver } from '../../src/daemon/resolver.js';
import { LuaPolicy } from '../../src/policy/lua-policy.js';
import { QueueManager } from '../../src/queue/queue-manager.js';
import { Receiver } from '../../src/reception/receiver.js';
import { openSpool, type Spool } from '../../src/spool/index.js';
import { eventually, maildirMessages } from '../support/mail.js';

// The engine with real parts: the spool on disk, the policy in Lua, the maildir and SMTP drivers,
// an SMTP sink on loopback. Only the log sink is an array.
let dir: string;
let runtime: PolicyRuntime;
let spool: Spool;
let queues: QueueManager;
let receiver: Receiver;
let sink: SmtpSink;
let records: LogRecord[];

async function engine(policyBody: string, resolver?: SwitchableResolver): Promise<void> {
  const policy = join(dir, 'policy.lua');
  await writeFile(
    policy,
    `local kumo = require 'kumo'\nlocal DIR = ${JSON.stringify(dir)}\nlocal SINK = ${sink.port}\n${policyBody}`,
  );
  runtime = await PolicyRuntime.start({ policy, poolSize: 1, spare: false });
  spool = await openSpool({ dataPath: join(dir, 'data'), metaPath: join(dir, 'meta') });
  records = [];
  const logs = { write: (record: LogRecord) => void records.push(record) };
  queues = new QueueManager({
    spool,
    policy: new LuaPolicy(runtime),
    registry: new DriverRegistry([maildirDriver, smtpDriver]),
    logs,
    driverContext: {
      logger: silentLogger,
      clock: systemClock,
      signal: shutdownSignal(),
      resolver: resolver ?? (undefined as never),
      hostname: 'sterna.test',
    },
    nodeId: 'node',
  });
  receiver = new Receiver({ spool, queues, logs, nodeId: 'node' });
}

function accept(to: string, subject = 'hello'): Promise<string> {
  const id = newSpoolId();
  return receiver
    .accept(
      [
        {
          id,
          sender: 's@example.org',
          recipients: [to],
          meta: {},
          data: Buffer.from(`Subject: ${subject}\r\n\r\nbody\r\n`),
        },
      ],
      null,
    )
    .then(() => id);
}

// As in the daemon: every concurrent handshake listens to the shutdown signal.
function shutdownSignal(): AbortSignal {
  const signal = new AbortController().signal;
  setMaxListeners(0, signal);
  return signal;
}

const SMARTHOST = `
kumo.on('get_egress_path_config', function(domain, source, site)
  return kumo.make_egress_path { prohibited_hosts = {}, enable_tls = 'Disabled', idle_timeout = '2s' }
end)
`;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sterna-engine-'));
  sink = await startSmtpSink({ tls: false });
});
afterEach(async () => {
  await queues?.stop(1000);
  await spool?.close();
  await runtime?.close();
  await sink.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the queue engine', () => {
  it('delivers to a maildir and removes the message from the spool', async () => {
    await engine(
      `kumo.on('get_queue_config', function() return kumo.make_queue_config { protocol = { maildir_path = DIR .. '/md' } } end)`,
    );
    const id = await accept('a@example.com');
    await eventually(() => (records.some((r) => r.type === 'Delivery') ? true : undefined));
    expect((await maildirMessages(join(dir, 'md')))[0]).toContain('Subject: hello');
    expect(records.map((r) => r.type)).toEqual(['Reception', 'Delivery']);
    expect(records[1]).toMatchObject({
      id,
      delivery_protocol: 'Maildir',
      site: '',
      egress_pool: null,
      num_attempts: 0,
    });
    await eventually(() => (spool.stats().messages === 0 ? true : undefined));
  });

  it('keeps queues with different options apart even when they name the same site', async () => {
    await engine(`kumo.on('get_queue_config', function(domain)
  return kumo.make_queue_config { protocol = { maildir_path = DIR .. '/md-' .. domain } }
end)`);
    await accept('a@one.example');
    await accept('b@two.example');
    await eventually(() =>
      records.filter((r) => r.type === 'Delivery').length === 2 ? true : undefined,
    );
    expect(await maildirMessages(join(dir, 'md-one.example'))).toHaveLength(1);
    expect(await maildirMessages(join(dir, 'md-two.example'))).toHaveLength(1);
  });

  it('relays over SMTP on one reused connection per site', async () => {
    await engine(`${SMARTHOST}
kumo.on('get_queue_config', function() return kumo.make_queue_config { protocol = { smtp = { mx_list = { '127.0.0.1:' .. SINK } } } } end)`);
    for (let i = 0; i < 20; i++) await accept(`user${i}@example.com`);
    await sink.waitForMessages(20);
    await eventually(() =>
      records.filter((r) => r.type === 'Delivery').length === 20 ? true : undefined,
    );
    const delivery = records.find((r) => r.type === 'Delivery')!;
    expect(delivery).toMatchObject({
      site: `unspecified->mx_list:127.0.0.1:${sink.port}@smtp_client`,
      delivery_protocol: 'ESMTP',
      egress_pool: 'unspecified',
      egress_source: 'unspecified',
      response: { code: 250, command: '.\r\n' },
      peer_address: { name: '127.0.0.1', addr: `127.0.0.1:${sink.port}` },
    });
    expect(sink.sessions()).toBeLessThan(20);
  });

  it('inspects a message while an attempt holds it, and not after its delivery', async () => {
    // A peer that keeps the DATA reply until the test lets it go: the message is in neither the
    // scheduled nor the ready queue then, and inspect-message still finds it (KumoMTA's does).
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let dataStarted!: () => void;
    const inData = new Promise<void>((resolve) => (dataStarted = resolve));
    const peer = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, _session, callback) {
        dataStarted();
        stream.resume();
        stream.on('end', () => void released.then(() => callback()));
      },
    });
    await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve));
    const port = (peer.server.address() as { port: number }).port;
    try {
      await engine(`${SMARTHOST}
kumo.on('get_queue_config', function() return kumo.make_queue_config { protocol = { smtp = { mx_list = { '127.0.0.1:${port}' } } } } end)`);
      const id = await accept('held@example.com');
      await inData;
      const inspected = await queues.admin.inspectMessage(id, true);
      expect(inspected).toMatchObject({
        id,
        message: { sender: 's@example.org', recipient: 'held@example.com', num_attempts: 0 },
      });
      expect(inspected!.message.data).toContain('Subject: hello');
      release();
      await eventually(() => (records.some((r) => r.type === 'Delivery') ? true : undefined));
      await eventually(() => (spool.stats().messages === 0 ? true : undefined));
      expect(await queues.admin.inspectMessage(id, false)).toBeUndefined();
    } finally {
      release();
      await new Promise<void>((resolve) => peer.close(() => resolve()));
    }
  });

  it('aborts a send in progress when it stops, after its ready queue idled and woke, and keeps the message', async () => {
    // The first message is answered; the peer keeps the second's DATA reply for good. Between
    // them the queue's only connection closes after idle_timeout (2 s), so the queue has no
    // dispatcher left: the send the stop must abort starts on a queue that woke again.
    let messages = 0;
    let dataStarted!: () => void;
    const inData = new Promise<void>((resolve) => (dataStarted = resolve));
    let sessionClosed!: () => void;
    const closed = new Promise<void>((resolve) => (sessionClosed = resolve));
    const peer = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, _session, callback) {
        stream.resume();
        if (++messages === 1) stream.on('end', () => callback());
        else dataStarted();
      },
      onClose() {
        if (messages === 2) sessionClosed();
      },
    });
    await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve));
    const port = (peer.server.address() as { port: number }).port;
    try {
      await engine(`${SMARTHOST}
kumo.on('get_queue_config', function() return kumo.make_queue_config { protocol = { smtp = { mx_list = { '127.0.0.1:${port}' } } } } end)`);
      await accept('first@example.com');
      await eventually(() => (records.some((r) => r.type === 'Delivery') ? true : undefined));
      await eventually(
        () => (queues.readyQueues().every((q) => q.idle) ? true : undefined),
        20_000,
        'the ready queue to idle',
      );
      const id = await accept('second@example.com');
      await inData;
      await queues.stop(100);
      // The abort closed the connection; a stop that only waited would leave it open.
      await closed;
      expect(spool.stats().messages).toBe(1);
      expect(records.filter((r) => r.type === 'Delivery')).toHaveLength(1);
      expect((await spool.read(id)).byteLength).toBeGreaterThan(0);
    } finally {
      await new Promise<void>((resolve) => peer.close(() => resolve()));
    }
  });

  it('resolves a new domain once for a burst of its messages', async () => {
    const dns = await startDnsServer({
      records: {
        'burst.example': { MX: [{ exchange: 'mx.burst.example', priority: 10 }] },
        'mx.burst.example': { A: ['127.0.0.1'] },
      },
    });
    try {
      const resolver = new SwitchableResolver(false);
      resolver.configure({ name_servers: [...dns.servers], search: [], options: {} });
      await engine(
        `
kumo.on('get_egress_path_config', function() return kumo.make_egress_path { prohibited_hosts = {}, enable_tls = 'Disabled', smtp_port = SINK } end)
kumo.on('get_queue_config', function() return kumo.make_queue_config {} end)`,
        resolver,
      );
      await Promise.all(Array.from({ length: 50 }, (_, i) => accept(`u${i}@burst.example`)));
      await sink.waitForMessages(50, 20_000);
      // Every message waited for the one site look-up in flight: one MX query, one A query.
      expect(dns.queries.filter((q) => q.name === 'burst.example')).toEqual([
        { name: 'burst.example', type: 'MX' },
      ]);
      expect(
        dns.queries.filter((q) => q.name === 'mx.burst.example' && q.type === 'A'),
      ).toHaveLength(1);
    } finally {
      await dns.close();
    }
  });

  it('keeps a burst beyond max_ready waiting in order instead of delaying it', async () => {
    await engine(`
kumo.on('get_egress_path_config', function() return kumo.make_egress_path { prohibited_hosts = {}, enable_tls = 'Disabled', max_ready = 10 } end)
kumo.on('get_queue_config', function() return kumo.make_queue_config { protocol = { smtp = { mx_list = { '127.0.0.1:' .. SINK } } } } end)`);
    await Promise.all(Array.from({ length: 300 }, (_, i) => accept(`burst${i}@example.com`)));
    // KumoMTA would send 290 of these back for up to a minute; here they all go through now.
    await sink.waitForMessages(300, 20_000);
    const name = `unspecified->mx_list:127.0.0.1:${sink.port}@smtp_client`;
    expect(Object.keys(queues.stats().ready)).toEqual([name]);
  });

  it('retries transient failures on the schedule, then expires', async () => {
    // Attempts 1 s and 3 s after the first (1 s, doubling), and the next would be 7 s after it:
    // max_age 6 s leaves a busy machine 3 s of delays before attempt 2 would come too late.
    await engine(`${SMARTHOST}
kumo.on('get_queue_config', function()
  return kumo.make_queue_config { retry_interval = '1s', max_age = '6s', protocol = { smtp = { mx_list = { '127.0.0.1:' .. SINK } } } }
end)`);
    await accept('tempfail@example.com');
    await eventually(
      () => (records.some((r) => r.type === 'Expiration') ? true : undefined),
      15_000,
    );
    const failures = records.filter((r) => r.type === 'TransientFailure');
    expect(failures.map((r) => r.num_attempts)).toEqual([0, 1, 2]);
    expect(failures[0]!.response).toMatchObject({
      code: 450,
      enhanced_code: { class: 4, subject: 2, detail: 0 },
    });
    const expiration = records.find((r) => r.type === 'Expiration')!;
    expect(expiration).toMatchObject({
      response: { code: 551, enhanced_code: { class: 5, subject: 4, detail: 7 } },
      site: '',
      delivery_protocol: null,
    });
    expect(expiration.response.content).toMatch(
      /^Next delivery time would be .* after creation, which exceeds max_age=6s$/,
    );
    await eventually(() => (spool.stats().messages === 0 ? true : undefined));
  });

  it('attempts waiting mail now after a rebind with always_flush', async () => {
    await engine(`${SMARTHOST}
kumo.on('get_queue_config', function() return kumo.make_queue_config { retry_interval = '1h', protocol = { smtp = { mx_list = { '127.0.0.1:' .. SINK } } } } end)`);
    const id = await accept('tempfail@example.com');
    await eventually(() => (records.some((r) => r.type === 'TransientFailure') ? true : undefined));
    const waiting = await queues.admin.inspectMessage(id, false);
    expect(Date.parse(waiting!.message.due!) - Date.now()).toBeGreaterThan(50 * 60_000);
    // The destination is back (as far as the operator knows): every waiting message is due now.
    expect(
      await queues.admin.rebind({ reason: 'provider back', data: {}, always_flush: true }),
    ).toEqual({ rebound: 1 });
    await eventually(() =>
      records.filter((r) => r.type === 'TransientFailure').length === 2 ? true : undefined,
    );
    expect(records.filter((r) => r.type === 'TransientFailure').map((r) => r.num_attempts)).toEqual(
      [0, 1],
    );
    expect(records.some((r) => r.type === 'AdminRebind')).toBe(false); // its queue did not change
  });

  it('bounces a permanent refusal once', async () => {
    await engine(`${SMARTHOST}
kumo.on('get_queue_config', function() return kumo.make_queue_config { protocol = { smtp = { mx_list = { '127.0.0.1:' .. SINK } } } } end)`);
    await accept('permfail@example.com');
    await eventually(() => (records.some((r) => r.type === 'Bounce') ? true : undefined));
    expect(
      records.filter((r) => r.type !== 'Reception').map((r) => [r.type, r.response.code]),
    ).toEqual([['Bounce', 550]]);
  });

  it('retries a failed maildir write about a minute later, outside the schedule', async () => {
    await mkdir(join(dir, 'blocked-parent'), { recursive: true });
    await writeFile(join(dir, 'blocked'), 'a file where a directory should be');
    await engine(
      `kumo.on('get_queue_config', function() return kumo.make_queue_config { retry_interval = '1h', protocol = { maildir_path = DIR .. '/blocked/md' } } end)`,
    );
    const before = Date.now();
    const id = await accept('a@example.com');
    await eventually(() => (records.some((r) => r.type === 'TransientFailure') ? true : undefined));
    // The failure happened between `before` and now: the minute counts from it, however long a
    // busy machine took to get there.
    const seen = Date.now();
    const failure = records.find((r) => r.type === 'TransientFailure')!;
    expect(failure.response.code).toBe(400);
    expect(failure.response.content).toMatch(/^a@example\.com: failed to write to maildir: /);
    const inspected = await queues.admin.inspectMessage(id, false);
    const due = Date.parse(inspected!.message.due!);
    expect(due - before).toBeGreaterThanOrEqual(59_000);
    expect(due - seen).toBeLessThan(62_000);
    expect(inspected!.message.num_attempts).toBe(1);
  });

  it('keeps mail whose protocol no driver claims, naming the package to install', async () => {
    await engine(
      `kumo.on('get_queue_config', function() return kumo.make_queue_config { retry_interval = '1h', protocol = { custom_lua = { constructor = 'make.x' } } } end)`,
    );
    await accept('a@example.com');
    await eventually(() => (records.some((r) => r.type === 'TransientFailure') ? true : undefined));
    expect(records[1]!.response.content).toContain('install @sterna/protocol-lua');
    expect(spool.stats().messages).toBe(1);
  });
});
