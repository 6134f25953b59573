import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type DriverContext, errorText, type Logger, type MetaValue } from '@sterna/core';
import { inferNumAttempts, spoolIdTime } from '@sterna/core/engine';
import type { LuaPolicy } from '../../policy/lua-policy.js';
import { QueueManager } from '../../queue/queue-manager.js';
import { ShapingStateFile } from '../../queue/shaping-state.js';
import { queueOf, Receiver } from '../../reception/receiver.js';
import type { Spool } from '../../spool/index.js';
import { intern, shareMeta } from '../../spool/intern.js';
import type { TraceHub } from '../../trace/hub.js';
import type { LoadedPolicy } from './load-policy.js';
import type { RecordSinks } from './open-records.js';
import type { DaemonParts } from './parts.js';

/** The queue engine and the one way into it. */
export interface StartedQueues {
  readonly queues: QueueManager;
  readonly receiver: Receiver;
}

/**
 * How long a start queues spooled messages before it goes on (listeners, `initialization
 * complete`) and queues the rest while the daemon runs.
 */
export const RESTORE_FOREGROUND_MS = 1000;

/**
 * Boot stage 4: the drivers' context (aborted when shutdown begins), the queue engine, the
 * receiver every listener hands messages to, and every message still in the spool queued again.
 */
export async function startQueues(
  loaded: LoadedPolicy,
  policy: LuaPolicy,
  spooled: { readonly spool: Spool; readonly nodeId: string; readonly stateDir: string },
  sinks: RecordSinks,
  log: Logger,
  parts: DaemonParts,
  beforeSpool?: (queues: QueueManager) => Promise<unknown>,
  traces?: TraceHub,
): Promise<StartedQueues> {
  const { spool, nodeId } = spooled;
  const { records, recordHeaders } = sinks;
  // Every concurrent handshake listens to the shutdown signal, so lift the listener warning
  // meant for leaks.
  const shutdown = new AbortController();
  setMaxListeners(0, shutdown.signal);
  parts.shutdown = shutdown;
  const driverContext: DriverContext = {
    logger: log,
    clock: { now: () => Date.now() },
    signal: shutdown.signal,
    resolver: loaded.resolver,
    hostname: loaded.collected.esmtpListeners[0]?.hostname ?? hostname(),
    policy: loaded.runtime,
    tracer: traces?.tracer,
  };
  const stateFile = new ShapingStateFile(join(spooled.stateDir, 'shaping-state.json'), log);
  const queues = new QueueManager(
    {
      spool,
      policy,
      registry: loaded.registry,
      logs: records,
      driverContext,
      nodeId,
      recordHeaders,
      shapingStores: { throttles: loaded.fleet.throttles, limits: loaded.fleet.limits },
      stateFile,
    },
    { watchdogMs: loaded.config.delivery_watchdog * 1000 },
  );
  parts.queues = queues;
  // Suspensions, bounce rules and overrides of the last run hold again before any mail moves.
  queues.restore(await stateFile.load());
  await beforeSpool?.(queues); // the fleet's shared levers, before any mail moves
  const receiver = new Receiver({ spool, queues, logs: records, nodeId, recordHeaders });
  const { rest } = await restoreSpool(spool, queues, log, {
    foregroundMs: RESTORE_FOREGROUND_MS,
    signal: shutdown.signal,
  });
  parts.restoring = rest;
  return { queues, receiver };
}

/**
 * Every message still spooled is queued again; attempts come from the spool, or from the age.
 *
 * With `foregroundMs`, a large spool is queued in two parts: batches until that much time has
 * passed, then the promise resolves and `rest` queues the remaining batches while the daemon
 * runs (one batch per turn of the event loop, so reception and delivery go on meanwhile). The
 * spool enumerates the messages it held when this was called, so messages received meanwhile
 * are not queued twice, and messages removed meanwhile are skipped. `signal` stops
 * the rest at shutdown; the messages not reached stay spooled for the next start. Without
 * `foregroundMs` everything is queued before the promise resolves.
 *
 * Exported for bench/queued-memory.ts, which measures what this costs per message.
 */
export async function restoreSpool(
  spool: Spool,
  queues: QueueManager,
  log: Logger,
  options: { readonly foregroundMs?: number; readonly signal?: AbortSignal } = {},
): Promise<{ readonly rest: Promise<void> }> {
  const started = performance.now();
  const now = Date.now();
  const { signal } = options;
  let count = 0;
  const batches = spool.batches()[Symbol.asyncIterator]();
  // Asked at once: the spool takes its list of messages now, before anything else can be
  // received, so what arrives later is queued by its receiver only.
  let first: ReturnType<typeof batches.next> | undefined = batches.next();
  // Queues the next batch; false once there is none (or the daemon is stopping).
  const next = async (): Promise<boolean> => {
    const step = await (first ?? batches.next());
    first = undefined;
    if (step.done) return false;
    if (signal?.aborted) return false;
    // The spool decodes every entry afresh for this loop: its arrays and objects become the
    // queued message's own, uncopied; its strings, and a meta object equal to the previous
    // message's, are shared with the other messages.
    for (const entry of step.value) {
      const created = spoolIdTime(entry.id);
      const meta = shareMeta(entry.meta as Record<string, MetaValue>);
      const recipients = entry.recipients as string[];
      queues.schedule({
        id: entry.id,
        sender: intern(entry.sender),
        recipients,
        meta,
        size: entry.size,
        num_attempts:
          entry.num_attempts ??
          inferNumAttempts({ retry_interval: 1200, max_age: 604_800 }, (now - created) / 1000),
        due: Math.max(now, entry.due ?? now),
        queue: intern(queueOf({ recipients, meta })),
      });
    }
    count += step.value.length;
    return true;
  };
  const done = () => {
    if (count > 0)
      log.info(
        `re-queued ${count} spooled messages in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
  };
  const budget = options.foregroundMs ?? Number.POSITIVE_INFINITY;
  while (performance.now() - started < budget) {
    if (!(await next())) {
      done();
      return { rest: Promise.resolve() };
    }
  }
  log.info(`re-queued ${count} spooled messages so far; queuing the rest while the daemon runs`);
  const rest = (async () => {
    try {
      while (!signal?.aborted) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (!(await next())) break;
      }
      if (signal?.aborted) {
        await first?.catch(() => undefined); // asked for at the start, never used
        await batches.return?.();
        log.info(`stopped re-queuing at ${count} spooled messages: the rest stay spooled`);
      } else done();
    } catch (error) {
      // The messages not reached stay spooled: the next start queues them again.
      log.error('could not re-queue the rest of the spool; the next start will', {
        queued: count,
        error: errorText(error),
      });
    }
  })();
  return { rest };
}
