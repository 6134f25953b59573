import type { Socket } from 'node:net';

/** One server reply: its code and its lines as received (without CRLF). */
export interface LmtpReply {
  readonly code: number;
  readonly lines: readonly string[];
}

/** The reply as one string, lines joined by CRLF, as `parseSmtpReply` takes it. */
export function replyText(reply: LmtpReply): string {
  return reply.lines.join('\r\n');
}

const MAX_LINE = 4096;
const MAX_LINES = 100;

/**
 * Turns the bytes of a socket into replies, in order. A reply is complete at a line whose
 * fourth character is a space (or that is just the code). Reads wait in a queue; when the socket
 * ends, pending and later reads fail with the reason.
 */
export class ReplyReader {
  readonly #replies: LmtpReply[] = [];
  readonly #waiters: { resolve(r: LmtpReply): void; reject(e: Error): void }[] = [];
  #partial = '';
  #lines: string[] = [];
  #ended: Error | undefined;

  constructor(socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.#feed(chunk));
    socket.on('error', (error) => this.#end(error));
    socket.on('close', () => this.#end(new Error('the server closed the connection')));
  }

  /** The next reply; rejects after `timeoutSeconds` or when the connection ends. */
  read(timeoutSeconds: number): Promise<LmtpReply> {
    const ready = this.#replies.shift();
    if (ready) return Promise.resolve(ready);
    if (this.#ended) return Promise.reject(this.#ended);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new Error(`no reply within ${timeoutSeconds} s`));
      }, timeoutSeconds * 1000);
      const waiter = {
        resolve: (r: LmtpReply) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  #feed(chunk: string): void {
    this.#partial += chunk;
    let eol = this.#partial.indexOf('\n');
    while (eol >= 0) {
      const line = this.#partial.slice(0, eol).replace(/\r$/, '');
      this.#partial = this.#partial.slice(eol + 1);
      this.#line(line);
      eol = this.#partial.indexOf('\n');
    }
    // A server that never ends its line is broken (or hostile): do not buffer without bound.
    if (this.#partial.length > MAX_LINE) this.#end(new Error('reply line too long'));
  }

  #line(line: string): void {
    const m = /^(\d{3})([ -]|$)/.exec(line);
    if (!m) {
      this.#end(new Error(`malformed reply line: ${JSON.stringify(line)}`));
      return;
    }
    this.#lines.push(line);
    if (m[2] === '-' && this.#lines.length < MAX_LINES) return;
    const reply = { code: Number(m[1]), lines: this.#lines };
    this.#lines = [];
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(reply);
    else this.#replies.push(reply);
  }

  #end(reason: Error): void {
    if (this.#ended) return;
    this.#ended = reason;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(reason);
  }
}
