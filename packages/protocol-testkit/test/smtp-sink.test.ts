import { connect } from 'node:net';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { type SmtpSink, type SmtpSinkOptions, startSmtpSink } from '../src/index.js';

const sinks: SmtpSink[] = [];
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});

async function sink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const s = await startSmtpSink(options);
  sinks.push(s);
  return s;
}

async function client(
  s: SmtpSink,
  options: Partial<SMTPConnection.Options> = {},
): Promise<SMTPConnection> {
  const c = new SMTPConnection({
    host: s.host,
    port: s.port,
    tls: { rejectUnauthorized: false },
    socketTimeout: 5000,
    ...options,
  });
  c.on('error', () => {});
  await new Promise<void>((resolve, reject) =>
    c.connect((err?: Error) => (err ? reject(err) : resolve())),
  );
  return c;
}

function send(c: SMTPConnection, from: string, to: string[], body: string) {
  return new Promise<SMTPConnection.SentMessageInfo>((resolve, reject) =>
    c.send({ from, to }, body, (err, info) => (err ? reject(err) : resolve(info))),
  );
}

const BODY = 'Subject: hi\r\n\r\nhello\r\n';

describe('startSmtpSink', () => {
  it('survives a client that resets its connection mid-transaction', async () => {
    // smtp-server reports a reset inside a transaction as an 'error' on the server; without a
    // listener that is an uncaught exception in the process hosting the sink (found by the
    // daemon's reliability crash suite, which kills the daemon mid-delivery).
    const s = await sink({ tls: false });
    for (let i = 0; i < 5; i++) {
      const socket = connect(s.port, s.host);
      socket.on('error', () => {});
      await new Promise<void>((resolve) => socket.once('data', () => resolve()));
      socket.write('EHLO reset.test\r\nMAIL FROM:<a@example.org>\r\n');
      await new Promise((r) => setTimeout(r, 50));
      // Replies left unread, then a reset (what a killed process's socket does).
      socket.pause();
      socket.write('RCPT TO:<b@example.org>\r\nNOOP\r\n');
      await new Promise((r) => setTimeout(r, 50));
      socket.resetAndDestroy();
    }
    await new Promise((r) => setTimeout(r, 300));
    const c = await client(s);
    await send(c, 'a@example.org', ['b@example.org'], BODY);
    c.quit();
    expect(s.messages).toHaveLength(1);
  });

  it('records messages with envelope, bytes, TLS state, client address, EHLO name and session', async () => {
    const s = await sink();
    const c = await client(s, { name: 'client.test', localAddress: '127.0.0.3' });
    await send(c, 'a@example.org', ['x@example.com', 'y@example.com'], BODY);
    await send(c, 'b@example.org', ['z@example.com'], BODY);
    c.quit();
    const messages = await s.waitForMessages(2);
    expect(messages[0]).toMatchObject({
      sender: 'a@example.org',
      recipients: ['x@example.com', 'y@example.com'],
      secure: true,
      remoteAddress: '127.0.0.3',
      heloName: 'client.test',
    });
    expect(messages[0]!.data.toString()).toBe(BODY);
    expect(messages[1]!.sessionId).toBe(messages[0]!.sessionId);
    expect(s.sessions()).toBe(1);
  });

  it('refuses recipients by local part, per recipient', async () => {
    const s = await sink({ tls: false });
    const c = await client(s);
    const info = await send(
      c,
      'a@example.org',
      ['ok@example.com', 'tempfail@example.com', 'permfail@example.com'],
      BODY,
    );
    expect(info.accepted).toEqual(['ok@example.com']);
    const codes = Object.fromEntries(
      info.rejectedErrors!.map((e) => [e.recipient, e.responseCode]),
    );
    expect(codes).toEqual({ 'tempfail@example.com': 450, 'permfail@example.com': 550 });
    expect(
      info.rejectedErrors!.find((e) => e.recipient === 'permfail@example.com')!.response,
    ).toMatch(/^550 5\.1\.1 /);
    c.quit();
    expect((await s.waitForMessages(1))[0]!.recipients).toEqual(['ok@example.com']);
  });

  it('answers 421 and closes, or drops the connection, at RCPT', async () => {
    const s = await sink({ tls: false });
    for (const rcpt of ['rcpt421@example.com', 'drop@example.com']) {
      const c = await client(s);
      const closed = new Promise<void>((resolve) => c.once('end', resolve));
      await expect(send(c, 'a@example.org', [rcpt], BODY)).rejects.toBeTruthy();
      await closed;
    }
    expect(s.messages).toEqual([]);
  });

  it('leaves a stalled RCPT unanswered until the client gives up', async () => {
    const s = await sink({ tls: false });
    const c = await client(s, { socketTimeout: 300 });
    await expect(send(c, 'a@example.org', ['stall@example.com'], BODY)).rejects.toMatchObject({
      code: 'ETIMEDOUT',
    });
  });

  it('answers DATA as scripted', async () => {
    const s = await sink({ tls: false });
    const c = await client(s);
    await expect(send(c, 'a@example.org', ['data451@example.com'], BODY)).rejects.toMatchObject({
      responseCode: 451,
    });
    c.quit();
    expect(s.messages).toEqual([]);
  });

  it('speaks LMTP with one DATA reply per recipient', async () => {
    const s = await sink({ tls: false, lmtp: true });
    const c = await client(s, { lmtp: true });
    const info = await send(c, 'a@example.org', ['ok@example.com', 'data550@example.com'], BODY);
    expect(info.accepted).toEqual(['ok@example.com']);
    expect(info.rejected).toEqual(['data550@example.com']);
    c.quit();
    expect((await s.waitForMessages(1))[0]!.recipients).toEqual(['ok@example.com']);
  });

  it('lets hooks decide', async () => {
    const s = await sink({
      tls: false,
      onRcpt: (address) =>
        address.startsWith('vip') ? { code: 552, message: '5.2.2 full' } : undefined,
    });
    const c = await client(s);
    await expect(send(c, 'a@example.org', ['vip@example.com'], BODY)).rejects.toMatchObject({
      code: 'EENVELOPE',
    });
    c.quit();
  });
});
