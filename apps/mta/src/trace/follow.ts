import WebSocket from 'ws';
import { CliError } from '../cli/client.js';

/** How long to follow a trace, beyond Ctrl-C. */
export interface FollowOptions {
  /** Stop after this many events printed. */
  readonly maxEvents?: number | undefined;
  /** Stop after this many milliseconds. */
  readonly durationMs?: number | undefined;
  /** Told once the request is sent (the stream is live from the daemon's next event). */
  readonly onOpen?: (() => void) | undefined;
}

/** What a follower does with each event: false when it printed nothing; `stop()` to end. */
export type EventHandler = (event: unknown, stop: () => void) => boolean;

function wsUrl(endpoint: string, path: string): string {
  const url = new URL(path, `${endpoint}/`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

function reachError(endpoint: string, error: Error & { code?: string }): CliError {
  return new CliError(
    `cannot reach the Sterna daemon at ${endpoint} (${error.code ?? error.message}): is it running with an HTTP listener there? Use --endpoint or KUMO_KCLI_ENDPOINT to name another`,
  );
}

/**
 * Opens one of the daemon's trace WebSockets, sends the filter request as KumoMTA's kcli does
 * (the first text message), and hands every event to `handle` until Ctrl-C, the duration, the
 * event count or `stop()`. Resolves when done.
 * @throws CliError when the daemon is not there, refuses the stream (403, 501) or the request.
 */
export function followTrace(
  endpoint: string,
  path: string,
  request: Record<string, unknown>,
  handle: EventHandler,
  options: FollowOptions = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl(endpoint, path));
    let done = false;
    let printed = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      process.off('SIGINT', onInterrupt);
      socket.removeAllListeners('message');
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) {
        socket.terminate();
      }
      if (error) reject(error);
      else resolve();
    };
    const stop = () => finish();
    const onInterrupt = () => finish();
    process.once('SIGINT', onInterrupt);
    if (options.durationMs !== undefined) timer = setTimeout(stop, options.durationMs);

    socket.on('open', () => {
      socket.send(JSON.stringify(request));
      options.onOpen?.();
    });
    socket.on('message', (data) => {
      let event: unknown;
      try {
        event = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (handle(event, stop)) printed++;
      if (options.maxEvents !== undefined && printed >= options.maxEvents) stop();
    });
    socket.on('unexpected-response', (_req, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () =>
        finish(
          new CliError(`the daemon refused the trace (${response.statusCode}): ${body.trim()}`),
        ),
      );
      response.on('error', () =>
        finish(new CliError(`the daemon refused the trace (${response.statusCode})`)),
      );
    });
    socket.on('error', (error: Error & { code?: string }) => finish(reachError(endpoint, error)));
    socket.on('close', (code, reason) => {
      const why = reason.toString();
      finish(
        new CliError(
          code === 1008 && why
            ? why
            : `the daemon closed the trace stream (code ${code}${why ? `: ${why}` : ''})`,
        ),
      );
    });
  });
}
