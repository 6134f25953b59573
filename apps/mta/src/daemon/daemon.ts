import { errorText, type Logger, silentLogger } from '@sterna/core';
import { loadDrivers } from '../config/load-drivers.js';
import { loadSternaConfig } from '../config/sterna-config.js';
import { parseLocalLogsConfig } from '../logs/index.js';
import { LuaPolicy } from '../policy/lua-policy.js';
import type { QueueManager } from '../queue/queue-manager.js';
import type { Receiver } from '../reception/receiver.js';
import { loadPolicy, startRuntime } from './boot/load-policy.js';
import { openRecordSinks } from './boot/open-records.js';
import { openDaemonSpool } from './boot/open-spool.js';
import type { DaemonParts } from './boot/parts.js';
import { startListeners } from './boot/start-listeners.js';
import { startQueues } from './boot/start-queues.js';
import { emptyConfig } from './collected-config.js';
import { SwitchableResolver } from './resolver.js';

/** How to start a daemon. */
export interface DaemonOptions {
  /** The policy file (`--policy`). */
  readonly policy: string;
  /** The daemon config file (`--config`); else `sterna.config.*` beside the policy. */
  readonly config?: string | undefined;
  /** Diagnostics. */
  readonly log: Logger;
  /** KumoMTA's startup lines (`smtp listener on …`), written to standard error. */
  readonly announce: (line: string) => void;
}

/**
 * A running Sterna daemon: the policy loaded and `init` run, the spool re-read, listeners open,
 * queues delivering. {@link Daemon.stop} shuts it down without losing mail.
 */
export class Daemon {
  readonly #parts: DaemonParts = { listeners: [] };
  readonly #log: Logger;
  #stopping: Promise<void> | undefined;

  private constructor(log: Logger) {
    this.#log = log;
  }

  /** The queue engine (for tests and tools). */
  get queues(): QueueManager | undefined {
    return this.#parts.queues;
  }

  /**
   * Loads the policy and runs `init` without starting anything. Problems make the policy unfit
   * to run; warnings (a driver not installed, which only matters to queues that use it) do not.
   */
  static async validate(
    options: Omit<DaemonOptions, 'announce'>,
  ): Promise<{ problems: string[]; warnings: string[] }> {
    const problems: string[] = [];
    const config = await loadSternaConfig(options.config, options.policy);
    const { problems: driverProblems } = await loadDrivers(
      config.drivers,
      config.dir,
      silentLogger,
    );
    const warnings = driverProblems.map((p) => `driver ${p.name}: ${p.reason}`);
    const collected = emptyConfig();
    const runtime = await startRuntime(
      options.policy,
      config,
      collected,
      new SwitchableResolver(),
      options.log,
      false,
    );
    try {
      problems.push(...collected.problems);
      if (!collected.spools.has('data'))
        problems.push("no spool named 'data' (kumo.define_spool{ name = 'data', path = … })");
      if (collected.esmtpListeners.length + collected.httpListeners.length === 0)
        problems.push('no listener is started in init');
      if (collected.localLogs) parseLocalLogsConfig(collected.localLogs);
    } finally {
      await runtime.close();
    }
    return { problems, warnings };
  }

  /** Starts a daemon; rejects (having released what it took) when the policy or config is broken. */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const daemon = new Daemon(options.log);
    try {
      await daemon.#start(options);
    } catch (error) {
      await daemon.stop();
      throw error;
    }
    return daemon;
  }

  // The boot stages in order; each records what it opens in #parts as soon as it exists.
  async #start(options: DaemonOptions): Promise<void> {
    const { log } = options;
    const parts = this.#parts;
    const loaded = await loadPolicy(options, parts);
    const spooled = await openDaemonSpool(loaded.collected, log, parts);
    const policy = new LuaPolicy(loaded.runtime);
    let receiver: Receiver | undefined;
    const sinks = await openRecordSinks(loaded.collected, policy, () => receiver, log, parts);
    const started = await startQueues(loaded, policy, spooled, sinks, log, parts);
    receiver = started.receiver;
    await startListeners(
      loaded,
      {
        policy,
        receiver,
        queues: started.queues,
        records: sinks.records,
        nodeId: spooled.nodeId,
        log,
        announce: options.announce,
      },
      parts,
    );
    options.announce('initialization complete');
  }

  /**
   * Stops accepting, gives in-flight deliveries their grace, flushes logs and closes the spool.
   * Undelivered mail stays spooled for the next start. Idempotent.
   */
  stop(graceMs = 10_000): Promise<void> {
    this.#stopping ??= (async () => {
      const { listeners, shutdown, queues, hooks, logs, spool, runtime } = this.#parts;
      await Promise.allSettled(listeners.map((l) => l.close()));
      shutdown?.abort(new Error('shutting down'));
      await queues?.stop(graceMs);
      await hooks?.drain();
      for (const [what, part] of [
        ['logs', logs],
        ['spool', spool],
        ['policy runtime', runtime],
      ] as const) {
        await part
          ?.close()
          .catch((error: unknown) =>
            this.#log.error(`closing the ${what} failed`, { error: errorText(error) }),
          );
      }
    })();
    return this.#stopping;
  }
}
