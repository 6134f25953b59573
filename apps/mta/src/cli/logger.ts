import type { Logger } from '@sterna/core';
import { pino } from 'pino';
import type { DiagnosticLevel } from './log-filter.js';

/** The daemon's diagnostic log, whose level can change while it runs (`set-log-filter`). */
export interface DiagnosticLogger extends Logger {
  /** The level in force. */
  readonly level: string;
  /** Changes the level from now on. */
  setLevel(level: DiagnosticLevel): void;
}

/** Diagnostics as JSON lines on standard error (`STERNA_LOG` or `--log-level` sets the level). */
export function diagnosticLogger(level: string): DiagnosticLogger {
  const out = pino(
    { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 2, sync: true }),
  );
  return {
    debug: (message, fields) => out.debug(fields ?? {}, message),
    info: (message, fields) => out.info(fields ?? {}, message),
    warn: (message, fields) => out.warn(fields ?? {}, message),
    error: (message, fields) => out.error(fields ?? {}, message),
    get level() {
      return out.level;
    },
    setLevel(next) {
      out.level = next;
    },
  };
}
