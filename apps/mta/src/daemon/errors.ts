/** The daemon's own error codes (spool, logs and http have theirs); see docs/errors.md. */
export const MTA_ERROR_CODES = {
  STERNA_MTA_CONFIG: 'The daemon config file (sterna.config.*) is unreadable or has a bad key.',
  STERNA_MTA_POLICY:
    "The policy's init left the daemon unable to run (no data spool, a configuration call refused).",
} as const;

/** A daemon error code. */
export type MtaErrorCode = keyof typeof MTA_ERROR_CODES;
