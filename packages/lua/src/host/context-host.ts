import type { ConfigKind } from '../config/config-params.js';

/** A level of `kumo.log_*`. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/**
 * What a Lua context needs from outside itself. In a worker each call is proxied to the main
 * thread, where the daemon's {@link RuntimeHost} answers it.
 */
export interface ContextHost {
  print(text: string): void;
  log(level: LogLevel, text: string): void;
  configure(kind: ConfigKind, params: unknown): Promise<void>;
  lookupMx(domain: string): Promise<unknown>;
  lookupAddr(name: string): Promise<string[]>;
  lookupTxt(name: string): Promise<string[]>;
  lookupPtr(ip: string): Promise<string[]>;
}
