import type { MessagePort, Worker } from 'node:worker_threads';

/** Main → thread: finish what you are doing and say `closed`. */
export interface CloseMessage {
  readonly t: 'close';
}
/** Thread → main: closed; the thread may be terminated. */
export interface ClosedMessage {
  readonly t: 'closed';
}

/**
 * Closes a thread started by `startModuleWorker`: asks it to close (a {@link CloseMessage}),
 * waits up to `timeoutMs` for its {@link ClosedMessage} or its exit, then terminates it.
 */
export async function closeThread(worker: Worker, timeoutMs: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('exit', done);
      resolve();
    };
    const onMessage = (message: unknown) => {
      if ((message as { t?: unknown } | null)?.t === 'closed') done();
    };
    const timer = setTimeout(done, timeoutMs);
    worker.on('message', onMessage);
    worker.once('exit', done);
    try {
      worker.postMessage({ t: 'close' } satisfies CloseMessage);
    } catch {
      done();
    }
  });
  await worker.terminate();
}

/**
 * The thread's side of {@link closeThread}: runs `close` when asked, then says `closed` (also
 * when `close` fails: the main thread terminates the thread either way). Returns whether
 * `message` was the close request, so a message handler can stop there.
 */
export function onCloseRequest(
  message: unknown,
  port: MessagePort,
  close: () => Promise<void>,
): boolean {
  if ((message as { t?: unknown } | null)?.t !== 'close') return false;
  void close()
    .catch(() => {})
    .finally(() => port.postMessage({ t: 'closed' } satisfies ClosedMessage));
  return true;
}
