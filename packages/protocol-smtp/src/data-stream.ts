import type { Transform, TransformCallback, Writable } from 'node:stream';
import type SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';

// nodemailer's DataStream (10.6.1) looks at every byte of a message in a JavaScript loop to stuff
// dots and turn bare CR and LF into CRLF: ~4 µs per KiB, the largest cost of relaying a 32 KiB
// message. Almost every chunk needs none of that. This finds out with native scans (indexOf is
// memchr) and passes such a chunk through as is, exactly as DataStream would have emitted it;
// any chunk that needs a change goes through DataStream's own code. The tests compare both on
// generated input.

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/** The fields DataStream keeps between chunks (nodemailer 10.6.1). */
interface DataStreamState {
  inByteCount: number;
  outByteCount: number;
  /** The last byte of the previous chunk, `false` before the first. */
  lastByte: number | false;
}

/**
 * Whether DataStream would emit `chunk` unchanged after a chunk ending in `prev`: every LF follows
 * a CR, every CR is followed by an LF (a CR at the end is settled by the next chunk), and no line
 * starts with a dot.
 */
export function passesUnchanged(chunk: Uint8Array, prev: number | false): boolean {
  const n = chunk.length;
  if (n === 0) return true;
  const first = chunk[0]!;
  if (prev === CR && first !== LF) return false;
  if (first === LF && prev !== CR) return false;
  if (first === DOT && (prev === LF || prev === false)) return false;
  const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, n);
  for (let i = bytes.indexOf(LF); i >= 0; i = bytes.indexOf(LF, i + 1)) {
    if (i > 0 && bytes[i - 1] !== CR) return false; // the first byte was checked against prev
    if (i + 1 < n && bytes[i + 1] === DOT) return false;
  }
  for (let i = bytes.indexOf(CR); i >= 0 && i + 1 < n; i = bytes.indexOf(CR, i + 1)) {
    if (bytes[i + 1] !== LF) return false;
  }
  return true;
}

/** Gives `stream` (a nodemailer DataStream) the pass-through path for chunks that need no change. */
export function withFastPath(stream: Transform): Transform {
  const state = stream as unknown as DataStreamState;
  const slow = stream._transform;
  if (typeof slow !== 'function' || typeof state.inByteCount !== 'number') return stream;
  stream._transform = function fastTransform(
    chunk: unknown,
    encoding: BufferEncoding,
    done: TransformCallback,
  ) {
    if (!Buffer.isBuffer(chunk) || chunk.length === 0 || !passesUnchanged(chunk, state.lastByte)) {
      return slow.call(this, chunk, encoding, done);
    }
    state.inByteCount += chunk.length;
    state.outByteCount += chunk.length;
    state.lastByte = chunk[chunk.length - 1]!;
    this.push(chunk);
    done();
  };
  return stream;
}

/**
 * Makes every message `client` sends go through {@link withFastPath}, and leave with the `.` that
 * ends it in one write. nodemailer pipes the message and then the end-of-data line into the
 * socket as two writes (two segments, two system calls). The socket is held (corked) from the
 * stream's start until the stream ends or, at the latest, until this turn's immediates run: a
 * message larger than the socket's buffer makes the pipe wait for it to drain, which a held
 * socket would never do, so then the message goes as before.
 */
export function useFastDataStream(client: SMTPConnection): void {
  const internals = client as unknown as {
    _createSendStream?: (...args: unknown[]) => unknown;
    _socket?: Writable;
  };
  const create = internals._createSendStream;
  if (typeof create !== 'function') return; // another nodemailer: keep its own path
  internals._createSendStream = function createSendStream(
    this: typeof internals,
    ...args: unknown[]
  ) {
    const stream = create.apply(this, args);
    if (!stream || typeof (stream as Transform)._transform !== 'function') return stream;
    const socket = this._socket;
    if (socket && !socket.destroyed) {
      socket.cork();
      let held = true;
      const release = () => {
        if (!held) return;
        held = false;
        socket.uncork();
      };
      (stream as Transform).once('end', release);
      setImmediate(release);
    }
    return withFastPath(stream as Transform);
  };
}
