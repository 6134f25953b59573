import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMessage, type Outcome } from '@sterna/core';
import { egressPath } from '@sterna/core/engine';
import { startSmtpSink, testContext } from '@sterna/protocol-testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type LmtpOptions, lmtpDriver } from '../src/index.js';

const ctx = testContext();
const path = egressPath({ data_dot_timeout: 5, rcpt_to_timeout: 5, connect_timeout: 5 });
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function deliver(table: unknown, recipients: string[], data = 'Subject: t\r\n\r\nhi\r\n') {
  const { options } = await resolve(table);
  const resolution = await lmtpDriver.site(options, { queue: 'q', domain: 'example.com' }, ctx);
  if (!('site' in resolution)) throw new Error('no site');
  const connection = await lmtpDriver.connect(resolution.site, options, ctx, path);
  if (!('send' in connection)) return { failure: connection };
  const message = createMessage({ sender: 's@example.org', recipients, data });
  const outcomes: Outcome[] = await connection.send(message, {
    signal: new AbortController().signal,
  });
  await connection.close();
  return { outcomes, site: resolution.site };
}

async function resolve(table: unknown) {
  const { DriverRegistry } = await import('@sterna/core/engine');
  return new DriverRegistry([lmtpDriver]).resolve<LmtpOptions>(table);
}

describe('LMTP replies per recipient', () => {
  it('keeps each recipient’s own reply after DATA', async () => {
    const sink = await startSmtpSink({
      lmtp: true,
      tls: false,
      onData: undefined,
    });
    closers.push(() => sink.close());
    const result = await deliver({ lmtp: { host: sink.host, port: sink.port } }, [
      'a@example.com',
      'data451@example.com',
      'data550@example.com',
      'permfail@example.com',
    ]);
    expect(result.outcomes?.map((o) => [o.recipient, o.kind, o.response.code])).toEqual([
      ['a@example.com', 'delivered', 250],
      ['data451@example.com', 'transient', 451],
      ['data550@example.com', 'permanent', 550],
      ['permfail@example.com', 'permanent', 550],
    ]);
    // The rejected-at-RCPT recipient carries the RCPT command; the others the end of DATA.
    expect(result.outcomes?.[3]?.response.command).toBe('RCPT TO:<permfail@example.com>\r\n');
    expect(result.outcomes?.[1]?.response.command).toBe('.\r\n');
    expect(sink.messages.map((m) => m.recipients)).toEqual([['a@example.com']]);
    expect(result.site?.name).toBe(`${sink.host}:${sink.port}`);
  });

  it('dot-stuffs lines that start with a dot and delivers the bytes unchanged', async () => {
    const sink = await startSmtpSink({ lmtp: true, tls: false });
    closers.push(() => sink.close());
    const data = 'Subject: dots\r\n\r\n.one\r\n..two\r\n.\r\nend\r\n';
    await deliver({ lmtp: { host: sink.host, port: sink.port } }, ['a@example.com'], data);
    expect(sink.messages[0]?.data.toString('latin1')).toBe(data);
  });

  it('speaks over a unix socket', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lmtp-unix-'));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const socketPath = join(dir, 'lmtp.sock');
    const seen: string[] = [];
    const server = scriptedServer(seen);
    await new Promise<void>((r) => server.listen(socketPath, r));
    closers.push(() => new Promise((r) => server.close(() => r())));
    const result = await deliver({ lmtp: { path: socketPath } }, [
      'x@example.com',
      'y@example.com',
    ]);
    expect(result.outcomes?.map((o) => [o.kind, o.response.content])).toEqual([
      ['delivered', 'x saved'],
      ['transient', 'y over quota'],
    ]);
    expect(result.outcomes?.[0]?.peer).toEqual({ name: `unix:${socketPath}`, addr: socketPath });
    expect(seen.slice(0, 2)).toEqual(['LHLO sterna.test', 'MAIL FROM:<s@example.org>']);
  });

  it('stops a stalled transaction when the signal aborts, and the connection is spent', async () => {
    const sink = await startSmtpSink({ lmtp: true, tls: false });
    closers.push(() => sink.close());
    const { options } = await resolve({ lmtp: { host: sink.host, port: sink.port } });
    const site = { name: `${sink.host}:${sink.port}`, service: 'lmtp' };
    const connection = await lmtpDriver.connect(site, options, ctx, path);
    if (!('send' in connection)) throw new Error('no connection');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const message = createMessage({
      sender: 's@example.org',
      recipients: ['a@example.com', 'stall@example.com'],
      data: 'Subject: stall\r\n\r\nx\r\n',
    });
    const outcomes = await connection.send(message, { signal: controller.signal });
    expect(outcomes.map((o) => [o.kind, o.response.content])).toEqual([
      ['transient', expect.stringContaining('delivery aborted')],
      ['transient', expect.stringContaining('delivery aborted')],
    ]);
    expect(connection.isUsable?.()).toBe(false);
    expect(sink.messages).toEqual([]);
    await connection.close();
  });

  it('is not reused after a 421', async () => {
    const sink = await startSmtpSink({ lmtp: true, tls: false });
    closers.push(() => sink.close());
    const { options } = await resolve({ lmtp: { host: sink.host, port: sink.port } });
    const site = { name: `${sink.host}:${sink.port}`, service: 'lmtp' };
    const connection = await lmtpDriver.connect(site, options, ctx, path);
    if (!('send' in connection)) throw new Error('no connection');
    const message = createMessage({
      sender: 's@example.org',
      recipients: ['rcpt421@example.com', 'b@example.com'],
      data: 'Subject: 421\r\n\r\nx\r\n',
    });
    const outcomes = await connection.send(message, { signal: new AbortController().signal });
    expect(outcomes.map((o) => [o.kind, o.response.code])).toEqual([
      ['transient', 421],
      ['transient', 400],
    ]);
    expect(connection.isUsable?.()).toBe(false);
    await connection.close();
  });

  it('turns a refused connection into a transient failure', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    await new Promise((r) => server.close(r));
    const result = await deliver({ lmtp: { host: '127.0.0.1', port } }, ['a@example.com']);
    expect(result.failure?.kind).toBe('transient');
    expect(result.failure?.response.content).toMatch(/ECONNREFUSED/);
  });
});

// A minimal LMTP server: accepts both recipients, then answers DATA per recipient.
function scriptedServer(seen: string[]): Server {
  return createServer((socket: Socket) => {
    socket.write('220 test LMTP\r\n');
    let buffer = '';
    let inData = false;
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      for (let eol = buffer.indexOf('\r\n'); eol >= 0; eol = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            socket.write('250 2.0.0 x saved\r\n452 4.2.2 y over quota\r\n');
          }
          continue;
        }
        seen.push(line);
        if (line.startsWith('LHLO')) socket.write('250-test\r\n250 PIPELINING\r\n');
        else if (line === 'DATA') {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (line === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('250 2.1.0 ok\r\n');
      }
    });
  });
}
