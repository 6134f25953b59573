import { writeFile } from 'node:fs/promises';
import { type SmtpSink, startSmtpSink } from '@sterna/protocol-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ClientTraceEvent, ServerTraceEvent } from '../../src/trace/types.js';
import { startSterna } from '../cli/cli-support.js';
import { type DaemonProcess, runSterna, startDaemon } from '../support/daemon-process.js';
import { eventually, sendMail, testMessage } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';

// sink.example goes to a real SMTP sink; anything else into a maildir.
const queues = (sinkPort: number) => `
kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  if domain == 'sink.example' or domain == 'other.example' then
    return kumo.make_queue_config { protocol = { smtp = { mx_list = { '127.0.0.1:${sinkPort}' } } } }
  end
  return kumo.make_queue_config { protocol = { maildir_path = DIR .. '/maildir' } }
end)
kumo.on('get_egress_path_config', function(domain, source, site)
  return kumo.make_egress_path { enable_tls = 'Disabled', prohibited_hosts = {}, idle_timeout = '1s' }
end)
-- Relaying into the maildir from any loopback address (the filter tests send from 127.0.0.2/3).
kumo.on('get_listener_domain', function(domain, listener, conn_meta)
  if domain == 'maildir.example.com' then
    return kumo.make_listener_domain { relay_to = true }
  end
end)
`;

/** A WebSocket subscriber collecting the events it receives. */
interface Tap<E> {
  readonly events: E[];
  close(): void;
}

function subscribe<E>(
  http: string,
  path: string,
  request: Record<string, unknown>,
  localAddress?: string,
): Promise<Tap<E>> {
  const socket = new WebSocket(`${http.replace(/^http/, 'ws')}${path}`, { localAddress });
  const events: E[] = [];
  socket.on('message', (data) => events.push(JSON.parse(data.toString()) as E));
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    socket.once('open', () => {
      socket.send(JSON.stringify(request));
      resolve({ events, close: () => socket.terminate() });
    });
  });
}

/** The payload names and texts of one inbound session, in order. */
function transcript(events: ServerTraceEvent[], peer: string): string[] {
  return events
    .filter((e) => e.conn_meta.received_from === peer)
    .map((e) => {
      const p = e.payload;
      if (typeof p === 'string') return p;
      if ('Read' in p) return `C: ${p.Read.split('\r\n')[0]}`;
      if ('Write' in p) return `S: ${p.Write.slice(0, 3)}`;
      return Object.keys(p)[0]!;
    });
}

/** Sends a message from `localAddress` until the trace shows a whole session from there. */
async function tracedSession(
  daemon: DaemonProcess,
  tap: Tap<ServerTraceEvent>,
  localAddress = '127.0.0.1',
  to = 'user@maildir.example.com',
): Promise<string> {
  return eventually(
    async () => {
      const before = tap.events.length;
      await sendMail(daemon.smtp, { from: 'a@example.org', to: [to] }, testMessage('traced'), {
        localAddress,
      });
      // The session's events follow the reply: a whole one has its Connected and its Closed.
      const whole = () => {
        const recent = tap.events.slice(before);
        const from = (e: ServerTraceEvent) =>
          String(e.conn_meta.received_from).startsWith(`${localAddress}:`);
        const opened = recent.find((e) => e.payload === 'Connected' && from(e));
        const peer = opened?.conn_meta.received_from;
        return recent.some((e) => e.payload === 'Closed' && e.conn_meta.received_from === peer)
          ? opened
          : undefined;
      };
      const closed = await eventually(whole, 10_000, 'a whole session').catch(() => undefined);
      return closed ? String(closed.conn_meta.received_from) : undefined;
    },
    30_000,
    `a traced session from ${localAddress}`,
  );
}

function expectSession(events: ServerTraceEvent[], peer: string): void {
  const steps = transcript(events, peer);
  const order = [
    'Connected',
    'S: 220',
    'C: EHLO',
    'S: 250',
    'C: MAIL FROM:<a@example.org>',
    'S: 250',
    'C: RCPT TO:<user@maildir.example.com>',
    'S: 250',
    'C: DATA',
    'S: 354',
    'C: From: Tests <tests@example.org>',
    'MessageDisposition',
    'S: 250',
    'C: QUIT',
    'S: 221',
    'Closed',
  ];
  let at = 0;
  for (const step of steps) if (step.startsWith(order[at]!)) at++;
  expect(steps.slice(0, 1)).toEqual(['Connected']);
  expect(at, `steps: ${steps.join(' | ')}`).toBe(order.length);
  const disposition = events.find(
    (e) =>
      e.conn_meta.received_from === peer &&
      typeof e.payload === 'object' &&
      'MessageDisposition' in e.payload,
  )!.payload as Extract<ServerTraceEvent['payload'], { MessageDisposition: unknown }>;
  expect(disposition.MessageDisposition).toMatchObject({
    sender: 'a@example.org',
    recipient: 'user@maildir.example.com',
    queue: 'maildir.example.com',
    will_enqueue: true,
  });
  expect(disposition.MessageDisposition.id).toMatch(/^[0-9a-f]{32}$/);
}

async function startWith(thread: boolean, sink: SmtpSink): Promise<[PolicyDir, DaemonProcess]> {
  const dir = await writePolicy(queues(sink.port));
  await writeFile(
    `${dir.dir}/sterna.config.json`,
    JSON.stringify({ smtp_listener_thread: thread }),
  );
  return [dir, await startDaemon(dir.policy)];
}

describe('live SMTP traces (listener on the main thread)', { timeout: 120_000 }, () => {
  let sink: SmtpSink;
  let dir: PolicyDir;
  let daemon: DaemonProcess;
  const taps: Tap<unknown>[] = [];
  beforeAll(async () => {
    sink = await startSmtpSink({ tls: false });
    [dir, daemon] = await startWith(false, sink);
  }, 150_000);
  afterAll(async () => {
    for (const tap of taps) tap.close();
    await daemon?.kill();
    await sink?.close();
    await dir?.cleanup();
  });

  it('streams an inbound session: commands, replies, the data and the disposition, in order', async () => {
    const tap = await subscribe<ServerTraceEvent>(
      daemon.http!,
      '/api/admin/trace-smtp-server/v1',
      {},
    );
    taps.push(tap);
    const peer = await tracedSession(daemon, tap);
    expectSession(tap.events, peer);
    const connected = tap.events.find((e) => e.conn_meta.received_from === peer)!;
    expect(connected.conn_meta).toMatchObject({
      hostname: 'sterna.test',
      reception_protocol: 'ESMTP',
    });
    expect(Date.parse(connected.when)).not.toBeNaN();
  });

  it('leaves out sessions from outside the source_addr filter', async () => {
    const tap = await subscribe<ServerTraceEvent>(daemon.http!, '/api/admin/trace-smtp-server/v1', {
      source_addr: ['127.0.0.2/32'],
    });
    taps.push(tap);
    await tracedSession(daemon, tap, '127.0.0.2');
    // Subscribed now: a session from 127.0.0.1, then one from .2 to know the .1 one is over.
    await sendMail(
      daemon.smtp,
      { from: 'a@example.org', to: ['user@maildir.example.com'] },
      testMessage('x'),
    );
    await tracedSession(daemon, tap, '127.0.0.2');
    expect(tap.events.length).toBeGreaterThan(0);
    expect(
      tap.events.every((e) => String(e.conn_meta.received_from).startsWith('127.0.0.2:')),
    ).toBe(true);
  });

  it('streams an outbound session to the SMTP sink, filtered by domain', async () => {
    const wanted = await subscribe<ClientTraceEvent>(
      daemon.http!,
      '/api/admin/trace-smtp-client/v1',
      {
        domain: ['sink.example'],
      },
    );
    const unwanted = await subscribe<ClientTraceEvent>(
      daemon.http!,
      '/api/admin/trace-smtp-client/v1',
      {
        domain: ['nowhere.example'],
      },
    );
    taps.push(wanted, unwanted);
    const sessions = await eventually(
      async () => {
        await sendMail(
          daemon.smtp,
          { from: 'a@example.org', to: ['rcpt@sink.example'] },
          testMessage('out'),
        );
        const done = await eventually(
          () =>
            wanted.events.some((e) => e.payload === 'MessageObtained') ? wanted.events : undefined,
          10_000,
        ).catch(() => undefined);
        const closed =
          done &&
          (await eventually(
            () =>
              wanted.events.some(
                (e) => e.payload === 'Closed' && e.conn_meta.domain === 'sink.example',
              )
                ? wanted.events
                : undefined,
            30_000,
          ).catch(() => undefined));
        return closed;
      },
      60_000,
      'a traced outbound session',
    );
    const id = sessions.find((e) => e.payload === 'MessageObtained')!.conn_meta.session_id;
    const steps = sessions
      .filter((e) => e.conn_meta.session_id === id)
      .map((e) => {
        const p = e.payload;
        if (typeof p === 'string') return p;
        if ('Read' in p) return `R: ${p.Read.slice(0, 3)}`;
        if ('Write' in p) return `W: ${p.Write.split('\r\n')[0]}`;
        return Object.keys(p)[0]!;
      });
    const order = [
      'Connected',
      'R: 220',
      'W: EHLO',
      'R: 250',
      'MessageObtained',
      'W: MAIL FROM:<a@example.org>',
      'W: RCPT TO:<rcpt@sink.example>',
      'W: DATA',
      'R: 354',
      'W: ',
      'R: 250',
      'Closed',
    ];
    let at = 0;
    for (const step of steps) if (at < order.length && step.startsWith(order[at]!)) at++;
    expect(at, `steps: ${steps.join(' | ')}`).toBe(order.length);
    const last = sessions.filter((e) => e.conn_meta.session_id === id).at(-1)!;
    expect(last.conn_meta).toMatchObject({
      domain: 'sink.example',
      mail_from: 'a@example.org',
      rcpt_to: ['rcpt@sink.example'],
      mx_addr: '127.0.0.1',
    });
    expect(String(last.conn_meta.ready_queue)).toContain(`127.0.0.1:${sink.port}@smtp_client`);
    // The other subscriber's domain never matched once a message was in hand.
    expect(unwanted.events.some((e) => e.conn_meta.domain === 'sink.example')).toBe(false);
  });

  it('refuses peers outside trusted_hosts and bad filters', async () => {
    await expect(
      subscribe(daemon.http!, '/api/admin/trace-smtp-server/v1', {}, '127.0.0.2'),
    ).rejects.toThrow('HTTP 403');
    const reason = await new Promise<string>((resolve, reject) => {
      const socket = new WebSocket(
        `${daemon.http!.replace(/^http/, 'ws')}/api/admin/trace-smtp-server/v1`,
      );
      socket.once('error', reject);
      socket.once('open', () => socket.send(JSON.stringify({ source_addr: ['not-an-ip'] })));
      socket.once('close', (code, why) => resolve(`${code} ${why.toString()}`));
    });
    expect(reason).toMatch(/^1008 bad trace request: source_addr: .*not-an-ip/);
  });

  it('sterna trace-smtp-server prints a live session as a real process', async () => {
    const cli = startSterna([
      'trace-smtp-server',
      // The first session seen whole (one under way when the CLI subscribed is skipped).
      '--only-new',
      '--only-one',
      '--source',
      '127.0.0.3',
      '--color',
      'no',
      '--endpoint',
      daemon.http!,
    ]);
    try {
      await eventually(
        () => (cli.stderr().includes('tracing') ? true : undefined),
        60_000,
        'the CLI to connect',
      );
      // Sessions until the CLI saw one whole (it may have subscribed a moment after the first).
      await eventually(
        async () => {
          await sendMail(
            daemon.smtp,
            { from: 'a@example.org', to: ['user@maildir.example.com'] },
            testMessage('cli'),
            {
              localAddress: '127.0.0.3',
            },
          );
          return eventually(
            () => (cli.stdout().includes('=== Closed') ? true : undefined),
            5000,
          ).catch(() => undefined);
        },
        60_000,
        'the CLI to print a session',
      );
      expect(await cli.exited).toBe(0);
      const out = cli.stdout();
      for (const line of [
        '=== Connected',
        '-> 220 ',
        '<- EHLO ',
        '<- MAIL FROM:<a@example.org>',
        '<- RCPT TO:<user@maildir.example.com>',
        '<- DATA',
        '-> 354 ',
        '<- Subject: cli',
        '=== Message from=a@example.org to=user@maildir.example.com',
        '-> 250 OK ids=',
        '<- QUIT',
        '=== Closed',
      ])
        expect(out).toContain(line);
      expect(out).toMatch(/^\[127\.0\.0\.3:\d+->127\.0\.0\.1:\d+@\d+\.\d{3}s\] === Connected/m);
    } finally {
      cli.kill();
    }
  });
  it('sterna trace-smtp-client prints an outbound session as a real process', async () => {
    const cli = startSterna([
      'trace-smtp-client',
      '--domain',
      'sink.example',
      '--color',
      'no',
      '--endpoint',
      daemon.http!,
    ]);
    try {
      await eventually(
        () => (cli.stderr().includes('tracing') ? true : undefined),
        60_000,
        'the CLI to connect',
      );
      await eventually(
        async () => {
          await sendMail(
            daemon.smtp,
            { from: 'a@example.org', to: ['cli@sink.example'] },
            testMessage('cli out'),
          );
          return eventually(
            () =>
              /=== Message from=a@example\.org[\s\S]*=== Closed/.test(cli.stdout())
                ? true
                : undefined,
            10_000,
          ).catch(() => undefined);
        },
        60_000,
        'the CLI to print an outbound session',
      );
      const out = cli.stdout();
      for (const line of [
        '=== BeginSession',
        '=== Connected to 127.0.0.1 127.0.0.1 from 127.0.0.1:',
        '<- 220 ',
        '-> EHLO ',
        '=== Message from=a@example.org to=cli@sink.example',
        '-> MAIL FROM:<a@example.org>',
        '-> RCPT TO:<cli@sink.example>',
        '-> Subject: cli out',
        '=== Closed',
      ])
        expect(out).toContain(line);
      expect(out).toMatch(
        /^\[unspecified->mx_list:127\.0\.0\.1:\d+@smtp_client#\d+@\d+\.\d{3}s\] === BeginSession/m,
      );
    } finally {
      cli.kill();
    }
  });
});

describe('live SMTP traces (listener in its own thread)', { timeout: 120_000 }, () => {
  let sink: SmtpSink;
  let dir: PolicyDir;
  let daemon: DaemonProcess | undefined;
  let tap: Tap<ServerTraceEvent> | undefined;
  beforeAll(async () => {
    sink = await startSmtpSink({ tls: false });
    [dir, daemon] = await startWith(true, sink);
  }, 150_000);
  afterAll(async () => {
    tap?.close();
    await daemon?.kill();
    await sink?.close();
    await dir?.cleanup();
  });

  it('streams the thread’s sessions through the main thread', async () => {
    const running = daemon!;
    tap = await subscribe<ServerTraceEvent>(running.http!, '/api/admin/trace-smtp-server/v1', {});
    const peer = await tracedSession(running, tap);
    expectSession(tap.events, peer);
    // A subscriber still connected does not hold up a clean shutdown.
    daemon = undefined;
    expect(await running.stop()).toBe(0);
  });
});

describe('sterna trace-* without a daemon', () => {
  it('says so in one line and exits 1', { timeout: 60_000 }, async () => {
    for (const command of ['trace-smtp-server', 'trace-smtp-client']) {
      const { code, output } = await runSterna([command, '--endpoint', 'http://127.0.0.1:9']);
      expect(code).toBe(1);
      expect(output.trim().split('\n')).toHaveLength(1);
      expect(output).toMatch(/^error: cannot reach the Sterna daemon at http:\/\/127\.0\.0\.1:9 /);
    }
  });
});
