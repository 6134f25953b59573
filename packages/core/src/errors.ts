/**
 * Every error Sterna raises on purpose carries one of these stable codes. Codes never change
 * meaning once released; `docs/errors.md` documents each one (a test keeps the two in step).
 */
export const ERROR_CODES = {
  STERNA_DRIVER_INVALID:
    'An object given as a protocol driver was not made by `defineProtocolDriver`.',
  STERNA_DRIVER_API_VERSION:
    'A protocol driver was built for a contract version this core does not speak.',
  STERNA_DRIVER_DUPLICATE: 'Two protocol drivers claim the same protocol key.',
  STERNA_PROTOCOL_UNKNOWN: "A queue's `protocol` table names a key that no loaded driver claims.",
  STERNA_PROTOCOL_AMBIGUOUS: 'A `protocol` table names keys of more than one driver.',
  STERNA_PROTOCOL_INVALID: 'A `protocol` value is not a table.',
  STERNA_OPTIONS_INVALID: "A `protocol` table failed its driver's option schema.",
  STERNA_DURATION_INVALID:
    'A duration was neither a non-negative number of seconds nor a humantime string.',
  STERNA_QUEUE_NAME_INVALID: 'A queue name or one of its parts cannot be formatted.',
  STERNA_SPOOL_ID_INVALID: 'A spool id is not 32 lowercase hex characters of a version 1 UUID.',
  STERNA_RESPONSE_INVALID: 'A response code is outside 100–599.',
  STERNA_CONNECTION_CLOSED: 'A driver connection was used after `close()`.',
  STERNA_OUTCOME_INVALID: "A driver returned outcomes that do not match the message's recipients.",
  STERNA_DRIVER_FAILED: 'A driver threw instead of returning an outcome; the message is retried.',
} as const;

/** A stable error code of core. */
export type CoreErrorCode = keyof typeof ERROR_CODES;

/**
 * A stable Sterna error code: one of core's, or another package's own (`STERNA_LUA_TIMEOUT`),
 * each documented in `docs/errors.md`.
 */
export type SternaErrorCode = CoreErrorCode | `STERNA_${string}`;

/** The one base class for errors Sterna raises on purpose. */
export class SternaError extends Error {
  /** The stable code, e.g. `STERNA_OPTIONS_INVALID`. */
  readonly code: SternaErrorCode;

  constructor(code: SternaErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SternaError';
    this.code = code;
  }
}

/** True when `error` is a {@link SternaError}, optionally with the given code. */
export function isSternaError(error: unknown, code?: SternaErrorCode): error is SternaError {
  return error instanceof SternaError && (code === undefined || error.code === code);
}

/** The message of any thrown value, for logs and outcome texts. */
export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
