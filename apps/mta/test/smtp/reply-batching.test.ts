import type { AddressInfo, Socket } from 'node:net';
import { connect } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { installReplyBatching } from '../../src/smtp/reply-batching.js';
import { sendMail, testMessage } from '../support/mail.js';

// A real smtp-server on loopback and a raw client. The server's accepted socket is watched: how
// many chunks it read (each a turn of the parser) and how many writes it made to the kernel
// (`_write` for one chunk, `_writev` for chunks held together).

interface Watched {
  reads: number;
  writes: number;
}

const servers: SMTPServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(() => r(null)))));
});

async function start(options: SMTPServerOptions): Promise<{ port: number; watched: Watched }> {
  installReplyBatching();
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    disableReverseLookup: true,
    // As Sterna's listener answers them: async handlers, settled within the turn when nothing
    // (no policy event) has to be waited for. smtp-server's own defaults answer a turn later.
    onMailFrom: async (_address, _session, done) => done(await Promise.resolve(null)),
    onRcptTo: async (_address, _session, done) => done(await Promise.resolve(null)),
    ...options,
  });
  servers.push(server);
  const watched: Watched = { reads: 0, writes: 0 };
  server.server.on('connection', (socket: Socket) => {
    const s = socket as Socket & {
      _write: (...a: unknown[]) => unknown;
      _writev: (...a: unknown[]) => unknown;
    };
    const push = s.push.bind(s);
    s.push = (chunk: unknown, encoding?: BufferEncoding) => {
      if (chunk !== null) watched.reads++;
      return push(chunk, encoding);
    };
    const write = s._write.bind(s);
    s._write = (...args: unknown[]) => {
      watched.writes++;
      return write(...args);
    };
    const writev = s._writev.bind(s);
    s._writev = (...args: unknown[]) => {
      watched.writes++;
      return writev(...args);
    };
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.server.address() as AddressInfo).port, watched };
}

/** A raw client: every reply line it got, and a way to wait for one. */
function rawClient(port: number) {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  const lines: string[] = [];
  let buffer = '';
  const waiting: { test: (line: string) => boolean; resolve: () => void }[] = [];
  socket.on('data', (chunk) => {
    buffer += chunk.toString();
    let at = buffer.indexOf('\r\n');
    while (at >= 0) {
      const line = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      lines.push(line);
      for (const w of waiting.filter((x) => x.test(line))) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve();
      }
      at = buffer.indexOf('\r\n');
    }
  });
  const until = (test: (line: string) => boolean) =>
    lines.some(test)
      ? Promise.resolve()
      : new Promise<void>((resolve) => waiting.push({ test, resolve }));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, lines, until, closed };
}

const PIPELINED = 'MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n';

async function pipelinedEnvelope(port: number, watched: Watched) {
  const c = rawClient(port);
  await c.until((l) => l.startsWith('220 '));
  c.socket.write('EHLO client.test\r\n');
  await c.until((l) => l.startsWith('250 '));
  const from = c.lines.length;
  const before = { ...watched };
  c.socket.write(PIPELINED);
  await c.until((l) => l.startsWith('354 '));
  return {
    client: c,
    replies: c.lines.slice(from),
    reads: watched.reads - before.reads,
    writes: watched.writes - before.writes,
  };
}

describe('installReplyBatching', { timeout: 30_000 }, () => {
  it('writes the replies to pipelined commands read in one chunk together, in order', async () => {
    const { port, watched } = await start({ batchReplies: true });
    const { client, replies, reads, writes } = await pipelinedEnvelope(port, watched);
    onTestFailed(() => {
      client.socket.destroy();
    });
    expect(replies.map((l) => l.slice(0, 4))).toEqual(['250 ', '250 ', '354 ']);
    // One write per chunk read at most: three replies to one chunk leave in one write.
    expect(reads).toBeGreaterThan(0);
    expect(writes).toBeLessThanOrEqual(reads);
    client.socket.write('hello\r\n.\r\n');
    await client.until((l) => /^250 .*queued/i.test(l) || /^250 OK/.test(l));
    client.socket.destroy();
  });

  it('leaves servers without the option writing each reply as it comes', async () => {
    const { port, watched } = await start({});
    const { client, replies, writes } = await pipelinedEnvelope(port, watched);
    expect(replies.map((l) => l.slice(0, 4))).toEqual(['250 ', '250 ', '354 ']);
    expect(writes).toBeGreaterThan(0);
    client.socket.destroy();
  });

  it('writes what it holds when the connection closes in the same turn', async () => {
    const { port } = await start({ batchReplies: true });
    const c = rawClient(port);
    await c.until((l) => l.startsWith('220 '));
    // RSET's 250 is held; QUIT's 221 closes the connection in the same turn.
    c.socket.write('EHLO client.test\r\nRSET\r\nQUIT\r\n');
    await c.closed;
    expect(c.lines.at(-2)).toMatch(/^250 /);
    expect(c.lines.at(-1)).toMatch(/^221 /);
  });

  it('lets STARTTLS hand the socket over to TLS and batches inside the TLS session', async () => {
    const { port } = await start({ batchReplies: true, name: 'tls.test' });
    const reply = await sendMail(
      { host: '127.0.0.1', port },
      { from: 'a@example.org', to: ['b@example.com', 'c@example.com'] },
      testMessage('over TLS'),
      { ignoreTLS: false, requireTLS: true, tls: { rejectUnauthorized: false } },
    );
    expect(reply.response).toMatch(/^250 /);
  });
});
