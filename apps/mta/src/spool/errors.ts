import { SternaError } from '@sterna/core';

/** The spool's stable error codes, each documented in `docs/errors.md`. */
export const SPOOL_ERROR_CODES = {
  STERNA_SPOOL_FULL:
    'Free space or inodes under the spool are below `min_free_space`/`min_free_inodes`.',
  STERNA_SPOOL_WRITE: 'The spool could not create, write or sync its files.',
  STERNA_SPOOL_READ: 'The spool could not read a stored message.',
  STERNA_SPOOL_CORRUPT: "A stored record's checksum does not match its bytes.",
  STERNA_SPOOL_NOT_FOUND: 'No message with this id is spooled.',
  STERNA_SPOOL_DUPLICATE: 'A message with this id is already spooled.',
  STERNA_SPOOL_CLOSED: 'The spool was used after `close()`.',
  STERNA_SPOOL_LOCKED: 'Another live process holds the spool lock.',
  STERNA_SPOOL_OPTIONS_INVALID: 'A spool option has an invalid value.',
} as const;

/** A stable error code of the spool. */
export type SpoolErrorCode = keyof typeof SPOOL_ERROR_CODES;

/** A {@link SternaError} with a spool code; `cause` keeps the underlying I/O error. */
export function spoolError(code: SpoolErrorCode, message: string, cause?: unknown): SternaError {
  return new SternaError(code, message, cause === undefined ? undefined : { cause });
}

/** The system error code (`ENOSPC`) of an I/O error, or its message. */
export function ioReason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}
