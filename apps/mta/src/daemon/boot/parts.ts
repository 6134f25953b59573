import type { PolicyRuntime } from '@sterna/lua';
import type { LocalLogWriter } from '../../logs/index.js';
import type { QueueManager } from '../../queue/queue-manager.js';
import type { LogHooks } from '../../reception/log-hooks.js';
import type { Spool } from '../../spool/index.js';
import type { ConfigEpochs } from '../config-epoch.js';
import type { ConfigMonitor } from '../config-monitor.js';

/** Something the daemon closes when it stops. */
export interface Closable {
  close(): Promise<void>;
}

/**
 * What a starting daemon holds. Each boot stage records a part here as soon as it exists, so a
 * stage that fails later still leaves {@link Daemon.stop} everything to release.
 */
export interface DaemonParts {
  readonly listeners: Closable[];
  queues?: QueueManager;
  logs?: LocalLogWriter;
  hooks?: LogHooks;
  spool?: Spool;
  runtime?: PolicyRuntime;
  /** The config monitor (stopped first at shutdown) and the epochs it starts. */
  monitor?: ConfigMonitor;
  epochs?: ConfigEpochs;
  /** The connections the policy opened (`kumo.redis.open`, `kumo.amqp`, `kumo.nats`). */
  policyServices?: Closable;
  /** Admin levers shared with the fleet through redis (closed before the queues stop). */
  sharedAdmin?: Closable;
  /** The redis connections of shared throttles and connection limits (closed last). */
  fleet?: Closable;
  /** The dashboard's sampler and timers (stopped once the listeners closed). */
  dashboard?: { close(): void };
  /** Aborted when shutdown begins; every driver handshake listens to it. */
  shutdown?: AbortController;
  /** The spooled messages still being queued after the start (settles when done or stopped). */
  restoring?: Promise<void>;
}
