// A daemon's live JavaScript heap, measured through its inspector: the daemon is started with
// `--inspect=127.0.0.1:PORT` (loopback only), and each reading opens a DevTools-protocol session,
// runs a full garbage collection (`HeapProfiler.collectGarbage`), reads `process.memoryUsage()`
// of the main thread, and closes the session. A heap read without the collection counts garbage
// that has not been collected yet, which is too noisy to divide by a queue count.
// A minimal WebSocket client (RFC 6455: one text frame per request, masked; unmasked replies,
// fragments joined), enough for the protocol's JSON messages; nothing beyond loopback.
import { randomBytes } from 'node:crypto';
import net from 'node:net';

/** `process.memoryUsage()` of the daemon's main thread, in bytes. */
export interface HeapReading {
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

/** A loopback port nothing listens on now (for `--inspect=127.0.0.1:PORT`). */
export async function freeLoopbackPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

class Session {
  readonly #socket: net.Socket;
  readonly #pending = new Map<number, Pending>();
  #buffer: Buffer = Buffer.alloc(0);
  #fragments: Buffer[] = [];
  #next = 1;

  constructor(socket: net.Socket, rest: Buffer) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#feed(chunk));
    const fail = (error: Error) => {
      for (const p of this.#pending.values()) p.reject(error);
      this.#pending.clear();
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('inspector session closed')));
    if (rest.length > 0) this.#feed(rest);
  }

  call(
    method: string,
    params: Record<string, unknown> = {},
    timeoutMs = 120_000,
  ): Promise<unknown> {
    const id = this.#next++;
    this.#send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`inspector: ${method} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  close(): void {
    // A close frame (opcode 8), masked, no body; then the socket.
    this.#socket.end(Buffer.from([0x88, 0x80, 0, 0, 0, 0]));
  }

  #send(text: string): void {
    const payload = Buffer.from(text);
    const n = payload.length;
    const header =
      n < 126
        ? Buffer.from([0x81, 0x80 | n])
        : n < 65_536
          ? Buffer.from([0x81, 0x80 | 126, n >> 8, n & 0xff])
          : (() => {
              const h = Buffer.alloc(10);
              h[0] = 0x81;
              h[1] = 0x80 | 127;
              h.writeBigUInt64BE(BigInt(n), 2);
              return h;
            })();
    const mask = randomBytes(4);
    for (let i = 0; i < n; i++) payload[i] = payload[i]! ^ mask[i & 3]!;
    this.#socket.write(Buffer.concat([header, mask, payload]));
  }

  #feed(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const b = this.#buffer;
      if (b.length < 2) return;
      const fin = (b[0]! & 0x80) !== 0;
      const opcode = b[0]! & 0x0f;
      const masked = (b[1]! & 0x80) !== 0;
      let length = b[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      const maskAt = offset;
      if (masked) offset += 4;
      if (b.length < offset + length) return;
      const payload = Buffer.from(b.subarray(offset, offset + length));
      if (masked) for (let i = 0; i < length; i++) payload[i] = payload[i]! ^ b[maskAt + (i & 3)]!;
      this.#buffer = b.subarray(offset + length);
      if (opcode === 0x9) {
        // ping: answer with a pong carrying the same bytes (masked, as a client must)
        const mask = randomBytes(4);
        const body = Buffer.from(payload);
        for (let i = 0; i < body.length; i++) body[i] = body[i]! ^ mask[i & 3]!;
        this.#socket.write(Buffer.concat([Buffer.from([0x8a, 0x80 | body.length]), mask, body]));
        continue;
      }
      if (opcode === 0x8) {
        this.#socket.destroy();
        return;
      }
      if (opcode !== 0x1 && opcode !== 0x0) continue;
      this.#fragments.push(payload);
      if (!fin) continue;
      const text = Buffer.concat(this.#fragments).toString();
      this.#fragments = [];
      const message = JSON.parse(text) as {
        id?: number;
        result?: unknown;
        error?: { message?: string };
      };
      if (message.id === undefined) continue; // an event
      const pending = this.#pending.get(message.id);
      if (!pending) continue;
      this.#pending.delete(message.id);
      if (message.error) pending.reject(new Error(`inspector: ${message.error.message}`));
      else pending.resolve(message.result);
    }
  }
}

async function open(port: number): Promise<Session> {
  const targets = (await fetch(`http://127.0.0.1:${port}/json/list`).then((r) => r.json())) as {
    webSocketDebuggerUrl?: string;
  }[];
  const url = targets.find((t) => t.webSocketDebuggerUrl)?.webSocketDebuggerUrl;
  if (!url) throw new Error(`inspector on port ${port}: no debugging target`);
  const { pathname } = new URL(url);
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  const key = randomBytes(16).toString('base64');
  socket.write(
    `GET ${pathname} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const rest = await new Promise<Buffer>((resolve, reject) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.off('error', reject);
      const status = head.subarray(0, head.indexOf('\r\n')).toString();
      if (!/^HTTP\/1\.1 101/.test(status))
        return reject(new Error(`inspector upgrade refused: ${status}`));
      resolve(head.subarray(end + 4));
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
  return new Session(socket, rest);
}

/**
 * Collects the daemon's garbage (twice: the first pass can leave objects only the second frees)
 * and reads its main thread's memory, through the inspector on `port`.
 */
export async function heapAfterGc(port: number): Promise<HeapReading> {
  const session = await open(port);
  try {
    await session.call('HeapProfiler.collectGarbage');
    await session.call('HeapProfiler.collectGarbage');
    const reply = (await session.call('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    })) as { result?: { value?: string } };
    if (typeof reply.result?.value !== 'string')
      throw new Error('inspector: process.memoryUsage() gave no value');
    return JSON.parse(reply.result.value) as HeapReading;
  } finally {
    session.close();
  }
}
