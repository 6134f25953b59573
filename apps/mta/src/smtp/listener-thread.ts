import type { Worker } from 'node:worker_threads';
import { errorText } from '@sterna/core';
import {
  answer,
  byOperation,
  closeThread,
  type Handlers,
  startModuleWorker,
  type ThreadError,
} from '@sterna/lua/threads';
import { rejectionOf } from '../policy/types.js';
import type { EsmtpListener, EsmtpListenerDeps } from './listener.js';
import type { EsmtpListenerParams } from './params.js';
import type {
  FromListenerThread,
  ListenerRequests,
  ListenerThreadInit,
} from './thread-protocol.js';

/** The policy events a listener fires; the thread is told which ones the policy defines. */
export const RECEPTION_EVENTS = [
  'smtp_server_connection_accepted',
  'smtp_server_ehlo',
  'smtp_server_auth_plain',
  'smtp_server_mail_from',
  'get_listener_domain',
  'smtp_server_rcpt_to',
  'smtp_server_data',
  'smtp_server_message_received',
] as const;

/** Options of {@link startEsmtpListenerThread}. */
export interface ListenerThreadOptions {
  /**
   * Wait before a thread that died is started again; doubled after each start that fails, up to
   * 30 s, and reset by one that succeeds. @default 1000
   */
  readonly restartDelayMs?: number;
  /** How long close() waits for the thread to close its sessions. @default 30000 */
  readonly closeTimeoutMs?: number;
  /** Told of every thread started, the first and each restart (supervision, tests). */
  readonly onThread?: (worker: Worker) => void;
}

// A listener's garbage is short-lived (one session's buffers and objects): a young generation of
// 8 MB keeps scavenges cheap and takes ~20-40 MB off the peak RSS under load (measured at
// 20,000 messages over 20 connections; V8's default lets it grow to 48 MB).
const resourceLimits = { maxYoungGenerationSizeMb: 8 };

function spawnThread(init: ListenerThreadInit): Worker {
  return startModuleWorker(import.meta.url, 'listener-worker', {
    workerData: init,
    resourceLimits,
  });
}

function threadError(error: unknown): ThreadError {
  const rejection = rejectionOf(error);
  return rejection ? { message: rejection.text, rejection } : { message: errorText(error) };
}

/**
 * Starts an ESMTP listener in its own worker thread: the SMTP conversation, its sockets and the
 * trace headers run there, on the second core; the policy, the spool, the queues and the logs stay
 * here and answer the thread's requests. A message is still acknowledged only after the receiver
 * (here) has made every copy durable. A thread that dies is logged and started again on the same
 * address; its open sessions are lost unacknowledged, so the clients retry and nothing is lost.
 */
export async function startEsmtpListenerThread(
  params: EsmtpListenerParams,
  deps: EsmtpListenerDeps,
  options: ListenerThreadOptions = {},
): Promise<EsmtpListener> {
  const restartDelayMs = options.restartDelayMs ?? 1000;
  const closeTimeoutMs = options.closeTimeoutMs ?? 30_000;
  const events = RECEPTION_EVENTS.filter((event) => deps.policy.hasEvent(event));
  let closing = false;
  let current: Worker | undefined;
  let restartTimer: NodeJS.Timeout | undefined;

  // What the thread asks for, answered here where the policy, the spool and the queues live.
  const handle = byOperation<ListenerRequests>({
    // Only what the thread reads crosses back (not every value the handler returned).
    call: async (event, args) => {
      const { value, messages, connMeta } = await deps.policy.call(event, args);
      return { value, messages, ...(connMeta ? { connMeta } : {}) };
    },
    accept: (messages, peer) =>
      deps.receiver.accept(messages, peer, { deferredSpool: params.deferred_spool === true }),
  } satisfies Handlers<ListenerRequests>);

  // Starts a thread listening on `listen`; resolves with its bound address once it accepts.
  const start = (listen: string): Promise<{ worker: Worker; address: string }> =>
    new Promise((resolve, reject) => {
      const worker = spawnThread({
        params: { ...params, listen },
        tls: deps.tls,
        nodeId: deps.nodeId,
        events,
      });
      options.onThread?.(worker);
      // The thread builds trace events only while someone traces.
      const unwatch = deps.trace?.watch?.((on) => worker.postMessage({ t: 'trace', on }));
      worker.once('exit', () => unwatch?.());
      let ready = false;
      let bound = listen;
      worker.on('message', (message: FromListenerThread) => {
        switch (message.t) {
          case 'ready':
            ready = true;
            bound = message.address;
            resolve({ worker, address: message.address });
            return;
          case 'failed':
            void worker.terminate();
            reject(new Error(message.message));
            return;
          case 'request':
            answer(message, handle, (reply) => worker.postMessage(reply), threadError);
            return;
          case 'record':
            deps.logs.write(message.record, message.context);
            return;
          case 'log':
            deps.log[message.level](message.message, message.fields);
            return;
          case 'trace':
            deps.trace?.publish(message.event);
            return;
          case 'closed':
            return; // close() waits for it
        }
      });
      worker.on('error', (error) => {
        deps.log.error(`smtp listener thread for ${listen} failed`, { error: errorText(error) });
        if (!ready) reject(error);
      });
      worker.on('exit', (code) => {
        if (!ready) {
          reject(new Error(`smtp listener thread for ${listen} exited with code ${code}`));
          return;
        }
        if (closing || worker !== current) return;
        deps.log.error(
          `smtp listener thread for ${bound} stopped (exit code ${code}); starting it again`,
        );
        current = undefined;
        // The bound address, so a listener on port 0 comes back on the port it had.
        scheduleRestart(bound);
      });
    });

  let failedStarts = 0;
  const scheduleRestart = (listen: string) => {
    const delay = Math.min(restartDelayMs * 2 ** failedStarts, Math.max(restartDelayMs, 30_000));
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (closing) return;
      start(listen).then(
        (started) => {
          if (closing) {
            void started.worker.terminate();
            return;
          }
          current = started.worker;
          failedStarts = 0;
          deps.log.info(`smtp listener thread for ${listen} started again`);
        },
        (error: unknown) => {
          failedStarts++;
          deps.log.error(`smtp listener thread for ${listen} could not start`, {
            error: errorText(error),
          });
          scheduleRestart(listen);
        },
      );
    }, delay);
    restartTimer.unref();
  };

  const first = await start(params.listen);
  current = first.worker;
  const address = first.address;

  return {
    address,
    async close() {
      closing = true;
      if (restartTimer) clearTimeout(restartTimer);
      const worker = current;
      current = undefined;
      if (!worker) return;
      await closeThread(worker, closeTimeoutMs);
    },
  };
}
