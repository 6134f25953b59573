import type { DnsResolver } from '@sterna/core';
import type { ThrottleStore } from '@sterna/core/engine';
import type { ConfigKind, ConfigParams } from '../config/config-params.js';
import type { DaemonHandlers, LogLevel } from './host-calls.js';

/** Core's resolver, plus the look-ups only policies make. */
export interface PolicyResolver extends DnsResolver {
  resolveTxt?(name: string): Promise<string[][]>;
  reverse?(ip: string): Promise<string[]>;
}

/**
 * What the daemon provides to the policy runtime. Every member is optional; the runtime
 * never imports the daemon.
 */
export interface RuntimeHost {
  /**
   * Receives a configuration call the policy made (`kumo.start_esmtp_listener{…}` →
   * `('esmtp_listener', params)`), already validated, with KumoMTA's defaults filled in and
   * durations in seconds. Throwing (or rejecting) raises the error in the policy.
   * @default refuses every configuration call
   */
  configure?<K extends ConfigKind>(kind: K, params: ConfigParams[K]): void | Promise<void>;
  /**
   * The resolver behind `kumo.dns.*` (a `node:dns` `Resolver` fits): `lookup_txt` and
   * `lookup_ptr` need its optional `resolveTxt` and `reverse`. @default none: they raise
   */
  resolver?: PolicyResolver | undefined;
  /**
   * Where `kumo.make_throttle` throttles keep their state, checked on the daemon's thread so
   * every Lua context shares it. The daemon passes the store its egress paths use, so policies
   * and paths share one (and, with a fleet's shared store, one across nodes). A policy's
   * throttle `name` is the key `lua-user-throttle-<name>`, as in KumoMTA.
   * @default a `LocalThrottles` of the runtime's own (one per `PolicyRuntime`)
   */
  throttles?: ThrottleStore | undefined;
  /** Where `print(...)` goes. @default a line on standard output */
  print?(text: string): void;
  /** Where `kumo.log_*` go. @default a line on standard error */
  log?(level: LogLevel, text: string): void;
  /**
   * Answers daemon host calls itself, by the name Lua calls them (the `daemon` entries of
   * `HOST_CALLS`): how a `kumo.*` function reaches what only the daemon holds (its queues, its
   * spool). One given here replaces the runtime's own answer. Throwing (or rejecting) raises
   * the error in the policy.
   * @default the runtime's own answers: print, log, configure and kumo.dns from the members above
   */
  calls?: Partial<DaemonHandlers> | undefined;
}
