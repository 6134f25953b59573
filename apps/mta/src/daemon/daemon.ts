import { setMaxListeners } from 'node:events';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import {
  type DriverContext,
  errorText,
  inferNumAttempts,
  type Logger,
  SternaError,
  silentLogger,
  spoolIdTime,
} from '@sterna/core';
import { PolicyRuntime } from '@sterna/lua';
import { readKeySource } from '../config/key-source.js';
import { loadDrivers } from '../config/load-drivers.js';
import { loadSternaConfig, type SternaConfig } from '../config/sterna-config.js';
import { startHttpListener } from '../http/index.js';
import { LocalLogWriter, parseLocalLogsConfig } from '../logs/index.js';
import { LuaPolicy } from '../policy/lua-policy.js';
import { QueueManager } from '../queue/queue-manager.js';
import type { RecordSink } from '../queue/types.js';
import { fanOut, LogHooks } from '../reception/log-hooks.js';
import { queueOf, Receiver } from '../reception/receiver.js';
import { startEsmtpListener } from '../smtp/listener.js';
import { startEsmtpListenerThread } from '../smtp/listener-thread.js';
import { openSpool, type Spool } from '../spool/index.js';
import { type CollectedConfig, collector, emptyConfig } from './collected-config.js';
import { loadNodeId } from './node-id.js';
import { SwitchableResolver } from './resolver.js';
import { selfSignedCertificate } from './tls.js';

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

interface Closable {
  close(): Promise<void>;
}

/**
 * A running Sterna daemon: the policy loaded and `init` run, the spool re-read, listeners open,
 * queues delivering. {@link Daemon.stop} shuts it down without losing mail.
 */
export class Daemon {
  readonly #parts: {
    listeners: Closable[];
    queues?: QueueManager;
    logs?: LocalLogWriter;
    hooks?: LogHooks;
    spool?: Spool;
    runtime?: PolicyRuntime;
  } = {
    listeners: [],
  };
  readonly #log: Logger;
  #stopping: Promise<void> | undefined;
  #shutdown: AbortController | undefined;

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

  async #start(options: DaemonOptions): Promise<void> {
    const log = options.log;
    const config = await loadSternaConfig(options.config, options.policy);
    const { registry } = await loadDrivers(config.drivers, config.dir, log);
    const resolver = new SwitchableResolver();
    const collected = emptyConfig();
    // A warm spare Lua context (a worker with the policy loaded, ~30 MB) is kept from the start
    // when one context serves every event; with more, from the first time a context had to be
    // terminated (a policy that never runs away never pays for it).
    const runtime = await startRuntime(
      options.policy,
      config,
      collected,
      resolver,
      log,
      config.lua.spare !== 'auto' ? config.lua.spare : config.lua.contexts < 2 || 'after-loss',
    );
    this.#parts.runtime = runtime;
    if (collected.problems.length > 0)
      throw new SternaError('STERNA_MTA_POLICY', collected.problems.join('; '));
    if (collected.dnsResolver) resolver.configure(collected.dnsResolver);

    const data = collected.spools.get('data');
    if (!data)
      throw new SternaError(
        'STERNA_MTA_POLICY',
        "init defined no spool named 'data' (kumo.define_spool{ name = 'data', path = … })",
      );
    const meta = collected.spools.get('meta') ?? data;
    const spool = await openSpool({
      dataPath: data.path,
      metaPath: meta.path,
      minFreeSpace: data.min_free_space,
      minFreeInodes: data.min_free_inodes,
      logger: log,
    });
    this.#parts.spool = spool;
    const nodeId = await loadNodeId(
      process.env.STERNA_NODE_ID_PATH ?? join(dirname(resolve(meta.path)), 'nodeid'),
    );

    const policy = new LuaPolicy(runtime);
    const sinks: RecordSink[] = [];
    if (collected.localLogs) {
      const logs = await LocalLogWriter.open(parseLocalLogsConfig(collected.localLogs), {
        logger: log,
      });
      this.#parts.logs = logs;
      sinks.push({
        write: (record, context) => {
          try {
            void logs.write(record, context);
          } catch (error) {
            // After shutdown began a late record cannot be written; it must not take the process down.
            log.warn('log record not written', {
              type: record.type,
              id: record.id,
              error: errorText(error),
            });
          }
        },
      });
    }
    let receiver: Receiver | undefined;
    const hooks = new LogHooks(collected.logHooks, policy, () => receiver, log);
    this.#parts.hooks = hooks;
    sinks.push(hooks);
    const records = fanOut(sinks);
    // Parse and read back headers for records only if some sink copies them.
    const recordHeaders =
      (collected.localLogs?.headers.length ?? 0) > 0 ||
      collected.logHooks.some((h) => h.headers.length > 0);

    // Aborted when shutdown begins; every concurrent handshake listens to it, so lift the
    // listener warning meant for leaks.
    const shutdown = new AbortController();
    setMaxListeners(0, shutdown.signal);
    this.#shutdown = shutdown;
    const driverContext: DriverContext = {
      logger: log,
      clock: { now: () => Date.now() },
      signal: shutdown.signal,
      resolver,
      hostname: collected.esmtpListeners[0]?.hostname ?? (await import('node:os')).hostname(),
      policy: runtime,
    };
    const queues = new QueueManager(
      { spool, policy, registry, logs: records, driverContext, nodeId, recordHeaders },
      { watchdogMs: config.delivery_watchdog * 1000 },
    );
    this.#parts.queues = queues;
    receiver = new Receiver({ spool, queues, logs: records, nodeId, recordHeaders });
    await restoreSpool(spool, queues, log);

    const tls = await selfSignedCertificate();
    const inThread =
      config.smtp_listener_thread === 'auto'
        ? availableParallelism() > 1
        : config.smtp_listener_thread;
    const startListener = inThread ? startEsmtpListenerThread : startEsmtpListener;
    for (const params of collected.esmtpListeners) {
      const listener = await startListener(
        {
          ...params,
          tls_certificate: await readKeySource(params.tls_certificate, 'tls_certificate'),
          tls_private_key: await readKeySource(params.tls_private_key, 'tls_private_key'),
        },
        { policy, receiver, logs: records, nodeId, log, tls },
      );
      this.#parts.listeners.push(listener);
      options.announce(`smtp listener on ${listener.address}`);
    }
    for (const params of collected.httpListeners) {
      const listener = await startHttpListener(
        {
          ...params,
          tls_certificate: await readKeySource(params.tls_certificate, 'tls_certificate'),
          tls_private_key: await readKeySource(params.tls_private_key, 'tls_private_key'),
        },
        {
          policy,
          receiver,
          admin: queues,
          stats: () => queues.stats(),
          logs: records,
          nodeId,
          log,
          tls,
        },
      );
      this.#parts.listeners.push(listener);
      options.announce(`http listener on ${listener.address}`);
    }
    options.announce('initialization complete');
  }

  /**
   * Stops accepting, gives in-flight deliveries their grace, flushes logs and closes the spool.
   * Undelivered mail stays spooled for the next start. Idempotent.
   */
  stop(graceMs = 10_000): Promise<void> {
    this.#stopping ??= (async () => {
      const { listeners, queues, hooks, logs, spool, runtime } = this.#parts;
      await Promise.allSettled(listeners.map((l) => l.close()));
      this.#shutdown?.abort(new Error('shutting down'));
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

async function startRuntime(
  policyPath: string,
  config: SternaConfig,
  collected: CollectedConfig,
  resolver: SwitchableResolver,
  log: Logger,
  spare: boolean | 'after-loss' = true,
): Promise<PolicyRuntime> {
  let inInit = false;
  const runtime = await PolicyRuntime.start({
    policy: resolve(policyPath),
    spare,
    poolSize: config.lua.contexts,
    deadlineMs: config.lua.event_deadline * 1000,
    // Loading compiles the Lua VM in each worker: slow on a busy machine, and never worth dying for.
    loadDeadlineMs: 120_000,
    memoryMaxBytes: config.lua.memory_limit,
    host: {
      configure: collector(collected, () => inInit),
      resolver,
      print: (text) => process.stdout.write(`${text}\n`),
      log: (level, text) => log[level](text),
    },
  });
  try {
    inInit = true;
    if (runtime.hasEvent('pre_init')) await runtime.call('pre_init', []);
    if (runtime.hasEvent('init')) await runtime.call('init', []);
  } catch (error) {
    await runtime.close();
    throw error;
  } finally {
    inInit = false;
  }
  return runtime;
}

// Every message still spooled is queued again; attempts come from the spool, or from the age.
async function restoreSpool(spool: Spool, queues: QueueManager, log: Logger): Promise<void> {
  const now = Date.now();
  let count = 0;
  for await (const entry of spool.enumerate()) {
    const created = spoolIdTime(entry.id);
    queues.schedule({
      id: entry.id,
      sender: entry.sender,
      recipients: [...entry.recipients],
      meta: { ...entry.meta },
      size: entry.size,
      created,
      numAttempts:
        entry.numAttempts ??
        inferNumAttempts({ retryInterval: 1200, maxAge: 604_800 }, (now - created) / 1000),
      due: Math.max(now, entry.due ?? now),
      queue: queueOf({ recipients: entry.recipients, meta: { ...entry.meta } }),
    });
    count++;
  }
  if (count > 0) log.info(`re-queued ${count} spooled messages`);
}
