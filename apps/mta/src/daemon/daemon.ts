import { errorText, type Logger, silentLogger } from '@sterna/core';
import { loadDrivers } from '../config/load-drivers.js';
import { loadSternaConfig } from '../config/sterna-config.js';
import type { DiagnosticFilter } from '../http/diagnostic-routes.js';
import { parseLocalLogsConfig } from '../logs/index.js';
import { LuaPolicy } from '../policy/lua-policy.js';
import type { QueueManager } from '../queue/queue-manager.js';
import type { Receiver } from '../reception/receiver.js';
import type { ShapingAutomation } from '../shaping/automation.js';
import { TraceHub } from '../trace/hub.js';
import { loadPolicy, startRuntime } from './boot/load-policy.js';
import { makeDashboard } from './boot/make-dashboard.js';
import { openRecordSinks } from './boot/open-records.js';
import { openDaemonSpool } from './boot/open-spool.js';
import type { DaemonParts } from './boot/parts.js';
import { reloadAutomationRules, startAutomation } from './boot/start-automation.js';
import { prepareCertificates, startListeners } from './boot/start-listeners.js';
import { startQueues } from './boot/start-queues.js';
import { startSharedAdmin } from './boot/start-shared-admin.js';
import { emptyConfig } from './collected-config.js';
import { ConfigEpochs } from './config-epoch.js';
import { ConfigMonitor, defaultMonitorGlobs } from './config-monitor.js';
import { notActedOnWarnings } from './not-acted-on.js';
import { SwitchableResolver } from './resolver.js';
import { unfiredEventWarnings } from './unfired-events.js';

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
  /** Changes the diagnostic log's level at run time (`set_diagnostic_log_filter`). */
  readonly diagnostics?: DiagnosticFilter | undefined;
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
   * `sterna --validate`, as KumoMTA's: loads the policy, runs `pre_init` and `init` without
   * starting anything (a task `init` spawns is not run), then fires `validate_config` (every
   * handler: the helpers check their data files there). Problems make the policy unfit to run:
   * a configuration call refused, an error raised by a `validate_config` handler (its file and
   * line), a handler calling `kumo.validation_failed()`. Warnings do not: a driver not
   * installed, no spool or no listener (a documentation fragment or one file of a split policy
   * validates; the daemon itself needs the `data` spool to start).
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
    const spawned: string[] = [];
    const runtime = await startRuntime(
      options.policy,
      config,
      collected,
      new SwitchableResolver(),
      options.log,
      false,
      { calls: { spawn_task: (event) => void spawned.push(event) } },
    );
    try {
      problems.push(...collected.problems);
      warnings.push(...unfiredEventWarnings((event) => runtime.hasEvent(event)));
      warnings.push(...notActedOnWarnings(collected));
      if (!collected.spools.has('data'))
        warnings.push(
          "no spool named 'data' is defined (kumo.define_spool{ name = 'data', path = … }): the daemon needs one to start",
        );
      if (collected.esmtpListeners.length + collected.httpListeners.length === 0)
        warnings.push('no listener is started in init: the daemon would receive no mail');
      if (collected.localLogs) parseLocalLogsConfig(collected.localLogs);
      for (const event of new Set(spawned)) {
        if (!runtime.hasEvent(event))
          problems.push(`kumo.spawn_task: the policy has no handler for the event ${event}`);
      }
      if (runtime.hasEvent('validate_config')) {
        await runtime.call('validate_config', []).catch((error: unknown) => {
          problems.push(`validate_config: ${errorText(error)}`);
        });
      }
      if (collected.validationFailures > 0)
        problems.push(
          'validation failed: kumo.validation_failed() was called by a validate_config handler (its errors are logged above)',
        );
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
    const startedAt = Date.now();
    const loaded = await loadPolicy(options, parts);
    const loadedAt = Date.now();
    // kumo.set_diagnostic_log_filter in init (already checked readable while init ran).
    const { diagnosticLogFilter } = loaded.collected;
    if (diagnosticLogFilter !== undefined) options.diagnostics?.set(diagnosticLogFilter);
    prepareCertificates(loaded);
    const spooled = await openDaemonSpool(loaded.collected, log, parts);
    const policy = new LuaPolicy(loaded.runtime);
    let receiver: Receiver | undefined;
    let automation: ShapingAutomation | undefined;
    const sinks = await openRecordSinks(
      loaded.collected,
      policy,
      () => receiver,
      log,
      parts,
      () => automation?.observe.bind(automation),
    );
    // One hub: the SMTP listeners and the drivers publish, the HTTP listeners' WebSockets read.
    const traces = new TraceHub();
    // The fleet's shared levers are loaded inside startQueues, before the spool is queued again.
    const started = await startQueues(
      loaded,
      policy,
      spooled,
      sinks,
      log,
      parts,
      (queues) => startSharedAdmin(loaded, queues, spooled.nodeId, log, parts),
      traces,
    );
    receiver = started.receiver;
    automation = startAutomation(loaded, started.queues, log);
    const bound: { kind: 'smtp' | 'http'; address: string }[] = [];
    const dashboard = makeDashboard(
      loaded,
      started.queues,
      { policyPath: options.policy, nodeId: spooled.nodeId, startedAt, loadedAt, bound },
      parts,
    );
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
        diagnostics: options.diagnostics,
        traces,
        dashboard,
        bound,
      },
      parts,
    );
    await this.#watchConfig(options, loaded, started.queues, () =>
      reloadAutomationRules(policy, automation!, log),
    );
    options.announce('initialization complete');
  }

  // KumoMTA's config epochs: a changed watched file, or kumo.bump_config_epoch(), reloads the
  // policy (validate_config is not fired: only --validate fires it, as in KumoMTA).
  async #watchConfig(
    options: DaemonOptions,
    loaded: Awaited<ReturnType<typeof loadPolicy>>,
    queues: QueueManager,
    reloaded: () => Promise<void>,
  ): Promise<void> {
    const { log } = options;
    const epochs = new ConfigEpochs({
      runtime: loaded.runtime,
      invalidate: () => {
        queues.invalidateConfigs();
        void reloaded();
      },
      log,
    });
    this.#parts.epochs = epochs;
    loaded.events.bumpEpoch = () => epochs.bump('kumo.bump_config_epoch');
    this.#parts.monitor = await ConfigMonitor.start({
      policy: options.policy,
      globs: () => loaded.collected.monitorGlobs ?? defaultMonitorGlobs(options.policy),
      intervalMs: loaded.config.config_monitor_interval * 1000,
      onChange: () => epochs.bump('a watched file changed'),
      log,
    });
  }

  /**
   * Stops accepting, gives in-flight deliveries their grace, flushes logs and closes the spool.
   * Undelivered mail stays spooled for the next start. Idempotent.
   */
  stop(graceMs = 10_000): Promise<void> {
    this.#stopping ??= (async () => {
      const {
        listeners,
        shutdown,
        queues,
        hooks,
        logs,
        spool,
        runtime,
        monitor,
        epochs,
        sharedAdmin,
        policyServices,
        fleet,
        dashboard,
        restoring,
      } = this.#parts;
      monitor?.stop();
      await epochs?.stop();
      await sharedAdmin?.close().catch(() => undefined);
      await Promise.allSettled(listeners.map((l) => l.close()));
      dashboard?.close();
      shutdown?.abort(new Error('shutting down'));
      await restoring; // stops between two batches: what it did not reach stays spooled
      await queues?.stop(graceMs);
      await hooks?.drain();
      for (const [what, part] of [
        ['logs', logs],
        ['spool', spool],
        ['policy runtime', runtime],
        ['policy connections', policyServices],
        ['redis throttles', fleet],
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
