/**
 * The stable error codes of the log-record writer. Each one is documented in `docs/errors.md`
 * under `## @sterna/mta — logs` (a test keeps the two in step).
 */
export const LOGS_ERROR_CODES = {
  STERNA_LOGS_CONFIG:
    'The table given to `kumo.configure_local_logs{…}` is invalid: an unknown key, a wrong type, a bad duration or template.',
  STERNA_LOGS_CLOSED: 'A log record was written after the writer was closed.',
  STERNA_LOGS_WRITE:
    'A log segment could not be created or appended to (directory not writable, disk full); the records stay queued and are retried.',
  STERNA_LOGS_READ:
    'A log segment could not be read back: not a zstd file, or a frame in the middle is corrupt.',
} as const;

/** A stable error code of the log-record writer. */
export type LogsErrorCode = keyof typeof LOGS_ERROR_CODES;
