import type { DnsResolver } from '@sterna/core';
import type { ConfigKind, ConfigParams } from './config-params.js';
import type { LogLevel } from './context-host.js';

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
  /** The resolver behind `kumo.dns.lookup_mx` / `lookup_addr`. @default none: they raise */
  resolver?: DnsResolver | undefined;
  /** Where `print(...)` goes. @default a line on standard output */
  print?(text: string): void;
  /** Where `kumo.log_*` go. @default a line on standard error */
  log?(level: LogLevel, text: string): void;
}
