import type { Logger } from '@sterna/core';
import { pino } from 'pino';

/** Diagnostics as JSON lines on standard error (`STERNA_LOG` or `--log-level` sets the level). */
export function diagnosticLogger(level: string): Logger {
  const out = pino(
    { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 2, sync: true }),
  );
  return {
    debug: (message, fields) => out.debug(fields ?? {}, message),
    info: (message, fields) => out.info(fields ?? {}, message),
    warn: (message, fields) => out.warn(fields ?? {}, message),
    error: (message, fields) => out.error(fields ?? {}, message),
  };
}
