import type { DaemonArgs, DaemonCallName, DaemonResult } from './host-calls.js';

export type { LogLevel } from './host-calls.js';

/**
 * The daemon as a Lua context reaches it, for the `daemon` entries of the host-call
 * declaration. In a worker each call is posted to the main thread, where the daemon's
 * {@link RuntimeHost} answers it; in-process (tests, benchmarks) it calls the same handlers.
 */
export interface ContextHost {
  /** Asks the daemon; settles with its answer, or rejects with its error. Never throws. */
  ask<K extends DaemonCallName>(name: K, args: DaemonArgs<K>): Promise<DaemonResult<K>>;
  /** Tells the daemon, for one-way calls (`print`, `log`): no answer. */
  tell<K extends DaemonCallName>(name: K, args: DaemonArgs<K>): void;
}
