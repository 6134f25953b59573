import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import type { Transform } from 'node:stream';
import { pathToFileURL } from 'node:url';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passesUnchanged, useFastDataStream, withFastPath } from './data-stream.js';

// nodemailer does not export DataStream; the tests load it from the installed package, since the
// point is to produce exactly what it produces.
const nodemailerDir = dirname(createRequire(import.meta.url).resolve('nodemailer'));
const { default: DataStream } = (await import(
  pathToFileURL(join(nodemailerDir, 'smtp-connection', 'data-stream.js')).href
)) as { default: new () => Transform };

interface Counts {
  inByteCount: number;
  outByteCount: number;
}

async function run(stream: Transform, chunks: Buffer[]): Promise<{ out: Buffer } & Counts> {
  const parts: Buffer[] = [];
  stream.on('data', (c: Buffer) => parts.push(c));
  const ended = new Promise((resolve) => stream.on('end', resolve));
  for (const chunk of chunks) stream.write(chunk);
  stream.end();
  await ended;
  const { inByteCount, outByteCount } = stream as unknown as Counts;
  return { out: Buffer.concat(parts), inByteCount, outByteCount };
}

// A deterministic generator, so a failure names a reproducible case.
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const PIECES = ['a', 'text ', '.', '..', '\r\n', '\r\n.', '\n', '\r', 'x\r\n', '\r\n\r\n'];

function generated(seed: number): Buffer[] {
  const next = random(seed);
  const clean = next() < 0.5; // half the cases are ordinary CRLF text without leading dots
  let text = '';
  const length = 1 + Math.floor(next() * 60);
  for (let i = 0; i < length; i++) {
    text += clean ? (next() < 0.3 ? '\r\n' : 'word ') : PIECES[Math.floor(next() * PIECES.length)];
  }
  const bytes = Buffer.from(text, 'latin1');
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor(next() * 12);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

describe('the DataStream fast path', () => {
  it('emits exactly what nodemailer emits, with the same byte counts', async () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const chunks = generated(seed);
      const expected = await run(new DataStream(), chunks);
      const actual = await run(withFastPath(new DataStream()), chunks);
      expect({ seed, ...actual, out: actual.out.toString('latin1') }).toEqual({
        seed,
        ...expected,
        out: expected.out.toString('latin1'),
      });
    }
  });

  it('passes ordinary CRLF text through and leaves the rest to nodemailer', () => {
    const body = Buffer.from('Subject: x\r\n\r\nline one\r\nline two\r\n');
    expect(passesUnchanged(body, false)).toBe(true);
    expect(passesUnchanged(Buffer.from('\r\n.hidden\r\n'), 0x41)).toBe(false);
    expect(passesUnchanged(Buffer.from('.first'), false)).toBe(false);
    expect(passesUnchanged(Buffer.from('.first'), 0x0a)).toBe(false);
    expect(passesUnchanged(Buffer.from('.first'), 0x41)).toBe(true);
    expect(passesUnchanged(Buffer.from('\nx'), 0x0d)).toBe(true);
    expect(passesUnchanged(Buffer.from('\nx'), 0x41)).toBe(false);
    expect(passesUnchanged(Buffer.from('x'), 0x0d)).toBe(false);
    expect(passesUnchanged(Buffer.from('a\rb'), false)).toBe(false);
    expect(passesUnchanged(Buffer.from('a\nb'), false)).toBe(false);
    expect(passesUnchanged(Buffer.from('a\r'), false)).toBe(true); // settled by the next chunk
  });

  it('does not copy a chunk it passes through', async () => {
    const chunk = Buffer.from('hello\r\nworld\r\n');
    const stream = withFastPath(new DataStream());
    const seen: Buffer[] = [];
    stream.on('data', (c: Buffer) => seen.push(c));
    stream.write(chunk);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen[0]).toBe(chunk);
  });
});

describe('useFastDataStream on a real connection', { timeout: 30_000 }, () => {
  // A real smtp-server on loopback keeps every message's data; the client is nodemailer's
  // SMTPConnection with the fast path, its socket's writes to the kernel counted.
  const received: Buffer[] = [];
  let server: SMTPServer;
  let port: number;
  beforeAll(async () => {
    server = new SMTPServer({
      logger: false,
      authOptional: true,
      disableReverseLookup: true,
      onData(stream, _session, done) {
        const parts: Buffer[] = [];
        stream.on('data', (c: Buffer) => parts.push(c));
        stream.on('end', () => {
          received.push(Buffer.concat(parts));
          done();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function sendCounted(data: Buffer): Promise<{ writes: number; response: string }> {
    const client = new SMTPConnection({ host: '127.0.0.1', port, ignoreTLS: true });
    client.on('error', () => {});
    useFastDataStream(client);
    await new Promise<void>((resolve, reject) =>
      client.connect((err?: Error) => (err ? reject(err) : resolve())),
    );
    const socket = (client as unknown as { _socket: Record<string, (...a: unknown[]) => unknown> })
      ._socket;
    let writes = 0;
    for (const name of ['_write', '_writev']) {
      const original = socket[name]!.bind(socket);
      socket[name] = (...args: unknown[]) => {
        writes++;
        return original(...args);
      };
    }
    try {
      const info = await new Promise<SMTPConnection.SentMessageInfo>((resolve, reject) =>
        client.send({ from: 'a@example.org', to: ['b@example.com'] }, data, (err, result) =>
          err ? reject(err) : resolve(result),
        ),
      );
      return { writes, response: info.response };
    } finally {
      client.quit();
    }
  }

  it('sends a message and the end-of-data line after it in one write', async () => {
    const data = Buffer.from('Subject: one write\r\n\r\nHello.\r\n');
    const { writes, response } = await sendCounted(data);
    expect(response).toMatch(/^250 /);
    // The pipelined MAIL, RCPT and DATA (nodemailer's own batch), then the message with its end.
    expect(writes).toBeLessThanOrEqual(2);
    expect(received.at(-1)).toEqual(data);
  });

  it('still sends a message larger than the socket buffer whole', async () => {
    const line = `${'x'.repeat(998)}\r\n`;
    const data = Buffer.from(`Subject: large\r\n\r\n${line.repeat(128)}`);
    const { response } = await sendCounted(data);
    expect(response).toMatch(/^250 /);
    expect(received.at(-1)).toEqual(data);
  });
});
