import net from 'node:net';
import { isDeliveryFailure, isSternaError } from '@sterna/core';
import { testContext } from '@sterna/protocol-testkit';
import { describe, expect, it } from 'vitest';
import {
  connect,
  later,
  listFor,
  loopbackPath,
  message,
  mustConnect,
  signal,
  sink,
} from './helpers.js';

describe('per-recipient outcomes', () => {
  it('gives accepted recipients the DATA reply and refused ones their RCPT reply', async () => {
    const s = await sink();
    const c = await mustConnect(listFor(s), loopbackPath());
    const outcomes = await c.send(
      message([
        'ok@example.com',
        'tempfail@example.com',
        'permfail@example.com',
        'ok2@example.com',
      ]),
      { signal: signal() },
    );
    expect(outcomes.map((o) => [o.recipient, o.kind, o.response.code, o.response.command])).toEqual(
      [
        ['ok@example.com', 'delivered', 250, '.\r\n'],
        ['tempfail@example.com', 'transient', 450, 'RCPT TO:<tempfail@example.com>\r\n'],
        ['permfail@example.com', 'permanent', 550, 'RCPT TO:<permfail@example.com>\r\n'],
        ['ok2@example.com', 'delivered', 250, '.\r\n'],
      ],
    );
    expect(outcomes[1]!.response).toEqual({
      code: 450,
      enhanced_code: { class: 4, subject: 2, detail: 0 },
      content: 'mailbox temporarily unavailable',
      command: 'RCPT TO:<tempfail@example.com>\r\n',
    });
    expect(outcomes[0]!.peer).toEqual({ name: '127.0.0.1', addr: `127.0.0.1:${s.port}` });
    expect(s.messages.map((m) => m.recipients)).toEqual([['ok@example.com', 'ok2@example.com']]);
  });

  it('gives every accepted recipient a refusal after DATA', async () => {
    const s = await sink();
    const c = await mustConnect(listFor(s), loopbackPath());
    const outcomes = await c.send(message(['a@example.com', 'data550@example.com']), {
      signal: signal(),
    });
    expect(outcomes.map((o) => [o.kind, o.response.code, o.response.command])).toEqual([
      ['permanent', 550, '.\r\n'],
      ['permanent', 550, '.\r\n'],
    ]);
    expect(c.isUsable?.()).toBe(true);
  });

  it('works the same without pipelining', async () => {
    const s = await sink();
    const c = await mustConnect(listFor(s), loopbackPath({ enable_pipelining: false }));
    const outcomes = await c.send(message(['ok@example.com', 'permfail@example.com']), {
      signal: signal(),
    });
    expect(outcomes.map((o) => o.kind)).toEqual(['delivered', 'permanent']);
    const second = await c.send(message(['permfail@example.com']), { signal: signal() });
    expect(second.map((o) => o.kind)).toEqual(['permanent']);
    const third = await c.send(message(['ok@example.com']), { signal: signal() });
    expect(third.map((o) => o.kind)).toEqual(['delivered']);
    expect(s.sessions()).toBe(1);
  });

  it('gives each recipient its own reply over LMTP', async () => {
    const s = await sink({ lmtp: true });
    const c = await mustConnect(listFor(s), loopbackPath({ use_lmtp: true }));
    const outcomes = await c.send(
      message([
        'a@example.com',
        'data550@example.com',
        'data451@example.com',
        'permfail@example.com',
        'b@example.com',
      ]),
      { signal: signal() },
    );
    expect(outcomes.map((o) => [o.kind, o.response.code, o.response.command])).toEqual([
      ['delivered', 250, '.\r\n'],
      ['permanent', 550, '.\r\n'],
      ['transient', 451, '.\r\n'],
      ['permanent', 550, 'RCPT TO:<permfail@example.com>\r\n'],
      ['delivered', 250, '.\r\n'],
    ]);
    expect(s.messages.map((m) => m.recipients)).toEqual([['a@example.com', 'b@example.com']]);
  });

  it('splits recipients into transactions of max_recipients_per_batch', async () => {
    const s = await sink();
    const c = await mustConnect(listFor(s), loopbackPath({ max_recipients_per_batch: 2 }));
    const rcpts = ['a@example.com', 'b@example.com', 'c@example.com'];
    const outcomes = await c.send(message(rcpts), { signal: signal() });
    expect(outcomes.map((o) => o.kind)).toEqual(['delivered', 'delivered', 'delivered']);
    expect(s.messages.map((m) => m.recipients)).toEqual([
      ['a@example.com', 'b@example.com'],
      ['c@example.com'],
    ]);
  });

  it('retries "too many recipients" refusals at once on the same connection', async () => {
    const s = await sink({
      onRcpt: (_address, session) =>
        session.envelope.rcptTo.length >= 2
          ? { code: 452, message: 'too many recipients' }
          : undefined,
    });
    const c = await mustConnect(listFor(s), loopbackPath());
    const rcpts = [
      'a@example.com',
      'b@example.com',
      'c@example.com',
      'd@example.com',
      'e@example.com',
    ];
    const outcomes = await c.send(message(rcpts), { signal: signal() });
    expect(outcomes.map((o) => o.kind)).toEqual(rcpts.map(() => 'delivered'));
    expect(s.messages.map((m) => m.recipients.length)).toEqual([2, 2, 1]);
    expect(s.sessions()).toBe(1);
  });

  it('declares SIZE, BODY=8BITMIME and SMTPUTF8 when offered and needed', async () => {
    const args: unknown[] = [];
    const s = await sink({
      onRcpt: (_address, session) => {
        const from = session.envelope.mailFrom;
        args.push(from ? from.args : undefined);
        return undefined;
      },
    });
    const c = await mustConnect(listFor(s), loopbackPath());
    const plain = message(['a@example.com']);
    await c.send(plain, { signal: signal() });
    const eight = message(['josé@example.com'], 'café');
    const outcomes = await c.send(eight, { signal: signal() });
    expect(outcomes[0]!.kind).toBe('delivered');
    expect(args).toEqual([
      { SIZE: String(plain.size) },
      { SIZE: String(eight.size), BODY: '8BITMIME', SMTPUTF8: true },
    ]);
  });
});

describe('connection reuse', () => {
  it('carries many messages over one session', async () => {
    const s = await sink();
    const c = await mustConnect(listFor(s), loopbackPath());
    for (let i = 0; i < 20; i++) {
      const outcomes = await c.send(message([`r${i}@example.com`]), { signal: signal() });
      expect(outcomes[0]!.kind).toBe('delivered');
    }
    expect(s.messages).toHaveLength(20);
    expect(new Set(s.messages.map((m) => m.sessionId)).size).toBe(1);
    expect(s.sessions()).toBe(1);
  });

  it('resets after a refused envelope and goes on', async () => {
    const s = await sink();
    const c = await mustConnect(listFor(s), loopbackPath());
    expect((await c.send(message(['permfail@example.com']), { signal: signal() }))[0]!.kind).toBe(
      'permanent',
    );
    expect((await c.send(message(['a@example.com']), { signal: signal() }))[0]!.kind).toBe(
      'delivered',
    );
    expect(s.sessions()).toBe(1);
  });

  it('is unusable after max_deliveries_per_connection and after idle_timeout', async () => {
    const s = await sink();
    let now = 1_000_000;
    const ctx = testContext({ clock: { now: () => now } });
    const c = await mustConnect(
      listFor(s),
      loopbackPath({ max_deliveries_per_connection: 2, idle_timeout: 5 }),
      {},
      ctx,
    );
    await c.send(message(['a@example.com']), { signal: signal() });
    expect(c.isUsable?.()).toBe(true);
    now += 6_000;
    expect(c.isUsable?.()).toBe(false);
    await c.send(message(['a@example.com']), { signal: signal() });
    expect(c.isUsable?.()).toBe(false);
  });

  it('sends nothing after close, and closing twice is fine', async () => {
    const s = await sink();
    const c = await mustConnect(listFor(s), loopbackPath());
    await c.close();
    await c.close();
    let caught: unknown;
    await c.send(message(['a@example.com']), { signal: signal() }).catch((e: unknown) => {
      caught = e;
    });
    expect(isSternaError(caught, 'STERNA_CONNECTION_CLOSED')).toBe(true);
    expect(c.isUsable?.()).toBe(false);
    expect(s.messages).toEqual([]);
  });
});

describe('broken sessions', () => {
  it('a 421 at RCPT ends the session with transient outcomes, and a new one works', async () => {
    const s = await sink();
    const c = await mustConnect(listFor(s), loopbackPath());
    const outcomes = await c.send(
      message(['a@example.com', 'rcpt421@example.com', 'b@example.com']),
      {
        signal: signal(),
      },
    );
    expect(outcomes.map((o) => o.kind)).toEqual(['transient', 'transient', 'transient']);
    expect(outcomes[1]!.response).toMatchObject({
      code: 421,
      command: 'RCPT TO:<rcpt421@example.com>\r\n',
    });
    expect(c.isUsable?.()).toBe(false);
    const fresh = await mustConnect(listFor(s), loopbackPath());
    expect((await fresh.send(message(['a@example.com']), { signal: signal() }))[0]!.kind).toBe(
      'delivered',
    );
    expect(s.messages.map((m) => m.recipients)).toEqual([['a@example.com']]);
  });

  it('a 421 after DATA is transient and ends the session', async () => {
    const s = await sink();
    const c = await mustConnect(listFor(s), loopbackPath());
    const outcomes = await c.send(message(['data421@example.com']), { signal: signal() });
    expect(outcomes[0]).toMatchObject({
      kind: 'transient',
      response: { code: 421, command: '.\r\n' },
    });
    expect(c.isUsable?.()).toBe(false);
  });

  it('after a 421 the next message goes to the next host (ConnectNextHost)', async () => {
    const first = await sink();
    const second = await sink();
    const table = { smtp: { mx_list: [`127.0.0.1:${first.port}`, `127.0.0.1:${second.port}`] } };
    const c = await mustConnect(table, loopbackPath());
    await c.send(message(['rcpt421@example.com']), { signal: signal() });
    expect(c.isUsable?.()).toBe(true);
    const outcomes = await c.send(message(['a@example.com']), { signal: signal() });
    expect(outcomes[0]).toMatchObject({
      kind: 'delivered',
      peer: { addr: `127.0.0.1:${second.port}` },
    });
    expect(second.messages).toHaveLength(1);
  });

  it('reconnects to the same host with ReconnectSameHost, and gives up with TerminateSession', async () => {
    const s = await sink();
    const same = await mustConnect(
      listFor(s),
      loopbackPath({ reconnect_strategy: 'ReconnectSameHost' }),
    );
    await same.send(message(['rcpt421@example.com']), { signal: signal() });
    expect(same.isUsable?.()).toBe(true);
    expect((await same.send(message(['a@example.com']), { signal: signal() }))[0]!.kind).toBe(
      'delivered',
    );
    expect(s.sessions()).toBe(2);
    const done = await mustConnect(
      listFor(s),
      loopbackPath({ reconnect_strategy: 'TerminateSession' }),
    );
    await done.send(message(['rcpt421@example.com']), { signal: signal() });
    expect(done.isUsable?.()).toBe(false);
  });

  it('a peer that stalls at RCPT times out with 421 4.4.2 naming the command', async () => {
    const s = await sink();
    const c = await mustConnect(listFor(s), loopbackPath({ rcpt_to_timeout: 0.3 }));
    const outcomes = await c.send(message(['a@example.com', 'stall@example.com']), {
      signal: signal(),
    });
    expect(outcomes.map((o) => o.kind)).toEqual(['transient', 'transient']);
    const response = outcomes[1]!.response;
    expect(response).toMatchObject({
      code: 421,
      enhanced_code: { class: 4, subject: 4, detail: 2 },
      command: 'RCPT TO:<stall@example.com>\r\n',
    });
    expect(response.content).toBe(
      `KumoMTA internal: failed to send message to mx_list:127.0.0.1:${s.port} 127.0.0.1 127.0.0.1:${s.port}: Timed Out waiting 300ms for response to RCPT TO:<stall@example.com>`,
    );
    expect(c.isUsable?.()).toBe(false);
    expect(s.messages).toEqual([]);
  });

  it('a peer that never sends its banner fails that host after banner_timeout', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.2', resolve));
    const sockets = new Set<net.Socket>();
    silent.on('connection', (socket) => sockets.add(socket));
    later(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          silent.close(() => resolve());
        }),
    );
    const port = (silent.address() as net.AddressInfo).port;
    const result = await connect(
      { smtp: { mx_list: [`127.0.0.2:${port}`] } },
      loopbackPath({ banner_timeout: 0.2 }),
    );
    if (!isDeliveryFailure(result)) throw new Error('connected');
    expect(result.response.content).toBe(
      `KumoMTA internal: failed to connect to any candidate hosts: 127.0.0.2 127.0.0.2:${port}: Timed Out waiting 200ms for response to banner`,
    );
  });

  it('an abort mid-send ends the attempt with transient outcomes', async () => {
    const s = await sink();
    const c = await mustConnect(listFor(s), loopbackPath({ rcpt_to_timeout: 30 }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const started = Date.now();
    const outcomes = await c.send(message(['stall@example.com']), { signal: controller.signal });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(outcomes[0]).toMatchObject({ kind: 'transient', response: { code: 400 } });
    expect(outcomes[0]!.response.content).toContain('aborted');
  });
});

describe('close during a send', () => {
  it('cuts the transaction off: transient outcome, nothing delivered, no QUIT wait', async () => {
    const s = await sink();
    const c = await mustConnect(listFor(s), loopbackPath({ rcpt_to_timeout: 30 }));
    const sending = c.send(message(['stall@example.com']), { signal: signal() });
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await c.close();
    const outcomes = await sending;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(outcomes[0]).toMatchObject({ kind: 'transient', response: { code: 400 } });
    expect(s.messages).toEqual([]);
  });
});

it('never sends an address holding a line break', async () => {
  const s = await sink();
  const c = await mustConnect(listFor(s), loopbackPath());
  const outcomes = await c.send(message(['ok@example.com', 'evil@example.com>\r\nRSET\r\nX:<x']), {
    signal: signal(),
  });
  expect(outcomes.map((o) => [o.kind, o.response.code])).toEqual([
    ['delivered', 250],
    ['permanent', 553],
  ]);
  expect(s.messages.map((m) => m.recipients)).toEqual([['ok@example.com']]);
});
