import { availableParallelism } from 'node:os';
import type { Logger } from '@sterna/core';
import { readKeySource } from '../../config/key-source.js';
import type { Dashboard } from '../../dashboard/hub.js';
import type { DiagnosticFilter } from '../../http/diagnostic-routes.js';
import { startHttpListener } from '../../http/index.js';
import type { LuaPolicy } from '../../policy/lua-policy.js';
import type { QueueManager } from '../../queue/queue-manager.js';
import type { RecordSink } from '../../queue/types.js';
import type { Receiver } from '../../reception/receiver.js';
import { startEsmtpListener } from '../../smtp/listener.js';
import { startEsmtpListenerThread } from '../../smtp/listener-thread.js';
import type { TraceHub } from '../../trace/hub.js';
import { selfSignedCertificate } from '../tls.js';
import type { LoadedPolicy } from './load-policy.js';
import type { DaemonParts } from './parts.js';

/** What the listeners are built from. */
export interface ListenerDeps {
  readonly policy: LuaPolicy;
  readonly receiver: Receiver;
  readonly queues: QueueManager;
  readonly records: RecordSink;
  readonly nodeId: string;
  readonly log: Logger;
  /** KumoMTA's startup lines (`smtp listener on …`). */
  readonly announce: (line: string) => void;
  /** The diagnostic log's run-time filter, for `set_diagnostic_log_filter`. */
  readonly diagnostics?: DiagnosticFilter | undefined;
  /** The live traces the SMTP listeners feed and the HTTP listeners serve. */
  readonly traces?: TraceHub | undefined;
  /** The dashboard every HTTP listener serves under `/ui`. */
  readonly dashboard?: Dashboard | undefined;
  /** Filled with each listener's kind and bound address as it opens (the dashboard lists them). */
  readonly bound?: { kind: 'smtp' | 'http'; address: string }[] | undefined;
}

/**
 * Boot stage 5: opens every listener `init` started, SMTP first, each announced as it binds.
 * SMTP listeners run in their own thread when the config says so (`auto`: with two cores or
 * more). A listener without a certificate of its own offers a self-signed one naming its
 * `hostname` (one pair per distinct hostname).
 */
/**
 * Starts making the listeners' certificates (a 2048-bit key each, made off the main thread)
 * while the spool opens, so the listeners do not wait for them at the end of the start.
 */
export function prepareCertificates(loaded: LoadedPolicy): void {
  const { esmtpListeners, httpListeners } = loaded.collected;
  for (const params of [...esmtpListeners, ...httpListeners]) {
    // A failure is not remembered: startListeners asks again and reports it.
    selfSignedCertificate(params.hostname).catch(() => {});
  }
}

export async function startListeners(
  loaded: LoadedPolicy,
  deps: ListenerDeps,
  parts: DaemonParts,
): Promise<void> {
  const { policy, receiver, queues, records, nodeId, log } = deps;
  const { smtp_listener_thread: thread } = loaded.config;
  const inThread = thread === 'auto' ? availableParallelism() > 1 : thread;
  const startEsmtp = inThread ? startEsmtpListenerThread : startEsmtpListener;
  for (const params of loaded.collected.esmtpListeners) {
    const listener = await startEsmtp(await withKeys(params), {
      // The runtime itself: the listener needs what a call changed in the connection meta.
      policy: loaded.runtime,
      receiver,
      logs: records,
      nodeId,
      log,
      tls: await selfSignedCertificate(params.hostname),
      trace: deps.traces?.server,
    });
    parts.listeners.push(listener);
    deps.bound?.push({ kind: 'smtp', address: listener.address });
    deps.announce(`smtp listener on ${listener.address}`);
  }
  for (const params of loaded.collected.httpListeners) {
    const listener = await startHttpListener(await withKeys(params), {
      policy,
      receiver,
      admin: queues.admin,
      stats: () => queues.stats(),
      // Read at call time: the daemon sets bumpEpoch once the listeners are up.
      bumpConfigEpoch: () => loaded.events.bumpEpoch?.(),
      deliveryWatchdog: loaded.config.delivery_watchdog,
      diagnostics: deps.diagnostics,
      logs: records,
      nodeId,
      log,
      tls: await selfSignedCertificate(params.hostname),
      traces: deps.traces,
      dashboard: deps.dashboard,
    });
    parts.listeners.push(listener);
    deps.bound?.push({ kind: 'http', address: listener.address });
    deps.announce(`http listener on ${listener.address}`);
  }
}

// A listener's certificate and key, read from where the params name them (KumoMTA key sources).
async function withKeys<P extends { tls_certificate?: unknown; tls_private_key?: unknown }>(
  params: P,
): Promise<P & { tls_certificate: string | undefined; tls_private_key: string | undefined }> {
  return {
    ...params,
    tls_certificate: await readKeySource(params.tls_certificate, 'tls_certificate'),
    tls_private_key: await readKeySource(params.tls_private_key, 'tls_private_key'),
  };
}
