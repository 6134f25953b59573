import { resolve } from 'node:path';
import { type Logger, SternaError } from '@sterna/core';
import type { DriverRegistry, ThrottleStore } from '@sterna/core/engine';
import { PolicyRuntime, type RuntimeHost } from '@sterna/lua';
import { classifyBounceCall } from '../../bounce/index.js';
import { Fleet } from '../../cluster/fleet.js';
import { PolicyServices } from '../../cluster/policy-services.js';
import { loadDrivers } from '../../config/load-drivers.js';
import { loadSternaConfig, type SternaConfig } from '../../config/sterna-config.js';
import { timeLuaEvents } from '../../observe/instrument.js';
import {
  type CollectedConfig,
  type ConfigEvents,
  collector,
  emptyConfig,
} from '../collected-config.js';
import { notActedOnWarnings } from '../not-acted-on.js';
import { SwitchableResolver } from '../resolver.js';
import { unfiredEventWarnings } from '../unfired-events.js';
import type { DaemonParts } from './parts.js';

/** What the first boot stage found: the daemon's config, its drivers and the running policy. */
export interface LoadedPolicy {
  readonly config: SternaConfig;
  readonly registry: DriverRegistry;
  readonly resolver: SwitchableResolver;
  /** Everything the policy's `init` configured. */
  readonly collected: CollectedConfig;
  /** Where the calls the policy may make from any event go (set once the daemon runs). */
  readonly events: ConfigEvents;
  readonly runtime: PolicyRuntime;
  /**
   * The throttles policies (`kumo.make_throttle`) and egress paths share, and the connection
   * limits: this node's own, or the fleet's through redis (`kumo.configure_redis_throttles`).
   */
  readonly fleet: Fleet;
}

/**
 * Boot stage 1: reads the daemon config, loads the drivers, starts the policy runtime and runs
 * `pre_init` and `init`, then points the resolver where `init` said.
 *
 * @throws SternaError `STERNA_MTA_POLICY` when `init` configured something unusable.
 */
export async function loadPolicy(
  options: { readonly policy: string; readonly config?: string | undefined; readonly log: Logger },
  parts: DaemonParts,
): Promise<LoadedPolicy> {
  const { log } = options;
  const config = await loadSternaConfig(options.config, options.policy);
  const { registry } = await loadDrivers(config.drivers, config.dir, log);
  const resolver = new SwitchableResolver();
  const collected = emptyConfig();
  // A warm spare Lua context (a worker with the policy loaded, ~30 MB) is kept from the start
  // when one context serves every event; with more, from the first time a context had to be
  // terminated (a policy that never runs away never pays for it).
  const spare =
    config.lua.spare !== 'auto' ? config.lua.spare : config.lua.contexts < 2 || 'after-loss';
  const events: ConfigEvents = { tuneMx: (params) => resolver.tuneFrom(params) };
  // The stores exist before init runs (the runtime starts with them); init may share them.
  const fleet = new Fleet(log);
  parts.fleet = fleet;
  const services = new PolicyServices(log);
  parts.policyServices = services;
  const runtime = await startRuntime(options.policy, config, collected, resolver, log, spare, {
    events,
    throttles: fleet.throttles,
    calls: services.calls,
  });
  parts.runtime = runtime;
  for (const warning of unfiredEventWarnings((event) => runtime.hasEvent(event))) log.warn(warning);
  for (const warning of notActedOnWarnings(collected)) log.warn(warning);
  if (collected.problems.length > 0)
    throw new SternaError('STERNA_MTA_POLICY', collected.problems.join('; '));
  if (collected.dnsResolver) resolver.configure(collected.dnsResolver);
  if (collected.redisThrottles) {
    try {
      fleet.connect(collected.redisThrottles);
    } catch (error) {
      throw new SternaError(
        'STERNA_MTA_POLICY',
        `kumo.configure_redis_throttles: ${(error as Error).message}`,
      );
    }
  }
  return { config, registry, resolver, collected, events, runtime, fleet };
}

/**
 * Starts the policy runtime and runs `pre_init` and `init`, collecting what they configure into
 * `collected`; the runtime is closed again if either fails. `more.events` receives the calls
 * a policy may make from any event (an epoch bump); `more.calls` answers host calls in place of
 * the runtime (`--validate` records `kumo.spawn_task` instead of starting the task).
 */
export async function startRuntime(
  policyPath: string,
  config: SternaConfig,
  collected: CollectedConfig,
  resolver: SwitchableResolver,
  log: Logger,
  spare: boolean | 'after-loss' = true,
  more: { events?: ConfigEvents; calls?: RuntimeHost['calls']; throttles?: ThrottleStore } = {},
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
    // A TypeScript policy may import '@sterna/policy' from a folder with no node_modules (as a
    // Lua policy requires 'kumo' from anywhere): the daemon's own copy answers.
    importFallback: import.meta.url,
    host: {
      configure: collector(collected, () => inInit, more.events),
      // kumo.classify_bounce answers from the classifier init configured (none yet: Uncategorized).
      calls: { classify_bounce: classifyBounceCall(collected), ...more.calls },
      throttles: more.throttles,
      resolver,
      print: (text) => process.stdout.write(`${text}\n`),
      log: (level, text) => log[level](text),
    },
  });
  // Every event call, from any holder of the runtime, feeds lua_event_latency.
  timeLuaEvents(runtime);
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
