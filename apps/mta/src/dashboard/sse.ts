import type { ServerResponse } from 'node:http';

/** How long between keep-alive comments. */
export const KEEP_ALIVE_MS = 15_000;

// A subscriber this far behind (a stalled browser tab) skips events rather than growing memory.
const MAX_BUFFERED = 4 * 1024 * 1024;

/** One Server-Sent Events stream on a hijacked response. */
export class SseStream {
  readonly #res: ServerResponse;
  readonly #keepAlive: NodeJS.Timeout;
  #closed = false;
  readonly #onClose: (() => void)[] = [];

  /** Writes the head and `retry: 2000`, and starts the keep-alive comments. */
  constructor(res: ServerResponse, headers: Readonly<Record<string, string>> = {}) {
    this.#res = res;
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Proxies (nginx) must not buffer the stream.
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    this.#keepAlive = setInterval(() => this.#write(': keep-alive\n\n'), KEEP_ALIVE_MS).unref();
    const ended = () => this.#ended();
    res.on('close', ended);
    res.on('error', ended);
  }

  /** True once the client left or {@link SseStream.close} ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Calls `listener` once when the stream ends, whoever ends it. */
  onClose(listener: () => void): void {
    if (this.#closed) listener();
    else this.#onClose.push(listener);
  }

  /** Sends one event (`event:` name, `data:` JSON on one line). */
  send(event: string, data: unknown): void {
    this.#write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Ends the stream (the server is closing). */
  close(): void {
    if (this.#closed) return;
    this.#res.end();
    this.#ended();
  }

  #write(text: string): void {
    if (this.#closed || this.#res.writableLength > MAX_BUFFERED) return;
    this.#res.write(text);
  }

  #ended(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#keepAlive);
    for (const listener of this.#onClose.splice(0)) listener();
  }
}
