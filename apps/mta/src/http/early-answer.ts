import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** How long, and how many bytes, the listener keeps reading a body it has already answered. */
export interface LingerLimits {
  /** @default 30_000 (nginx's `lingering_time`) */
  readonly ms?: number;
  /** @default 64 MiB */
  readonly bytes?: number;
}

const TEXT = 'text/plain; charset=utf-8';

/**
 * Makes an answer given before the request body was read (401, 403, 413, 415) reach the client.
 *
 * Closing a socket that still has unread upload data makes the kernel send a reset, and a client
 * still writing its body then sees `EPIPE` or `ECONNRESET` instead of the answer. So:
 *
 * - a request with `Expect: 100-continue` whose `Content-Length` is over `bodyLimit` is answered
 *   413 (`tooLargeText`) at once, without `100 Continue`, and the body is never sent;
 * - any other request answered before its body arrived keeps its connection open while the rest
 *   of the body is read and discarded (as nginx's lingering close does), for at most
 *   `limits.ms` and `limits.bytes`; past either, the socket is destroyed.
 */
export function answerBeforeBody(
  server: Server,
  bodyLimit: number,
  tooLargeText: string,
  limits: LingerLimits = {},
): void {
  const lingerMs = limits.ms ?? 30_000;
  const lingerBytes = limits.bytes ?? 64 * 1024 * 1024;

  server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    if (Number(request.headers['content-length']) > bodyLimit) {
      // The client holds its body back until told to continue; no continue, no upload to drain.
      response.writeHead(413, { 'content-type': TEXT, connection: 'close' });
      response.end(tooLargeText);
      return;
    }
    response.writeContinue();
    server.emit('request', request, response);
  });

  // Sockets that are draining an upload after their answer, and those whose close is ours.
  const draining = new WeakSet<Socket>();
  const patched = new WeakSet<Socket>();
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    if (!patched.has(socket)) {
      patched.add(socket);
      // Node closes a `Connection: close` exchange with destroySoon() once the answer is out,
      // which would reset a client still uploading: half-close instead, and drain.
      const closable = socket as Socket & { destroySoon?: () => void };
      const destroySoon = closable.destroySoon;
      if (typeof destroySoon === 'function') {
        closable.destroySoon = () => {
          if (draining.has(socket)) socket.end();
          else destroySoon.call(socket);
        };
      }
    }
    response.once('prefinish', () => {
      if (request.complete) return;
      draining.add(socket);
      const start = socket.bytesRead;
      // Keep reading until the body ends or a limit passes. Node discards what nobody consumes
      // (its own finish handler, which runs before ours, dumps an untouched body); a body
      // partly read by a parser may be paused, so resume it too.
      response.once('finish', () => request.resume());
      const check = setInterval(() => {
        if (socket.bytesRead - start > lingerBytes) socket.destroy();
      }, 250);
      const stop = setTimeout(() => socket.destroy(), lingerMs);
      check.unref();
      stop.unref();
      const done = () => {
        draining.delete(socket);
        clearInterval(check);
        clearTimeout(stop);
      };
      request.once('end', done);
      socket.once('close', done);
    });
  });
}
