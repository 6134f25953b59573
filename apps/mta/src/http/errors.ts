import { SternaError } from '@sterna/core';

/** The HTTP listener's stable error codes, each documented in `docs/errors.md`. */
export const HTTP_ERROR_CODES = {
  STERNA_HTTP_PARAMS:
    'A `kumo.start_http_listener{…}` value cannot be used (listen address, trusted_hosts, TLS).',
} as const;

/** A stable error code of the HTTP listener. */
export type HttpErrorCode = keyof typeof HTTP_ERROR_CODES;

/** A {@link SternaError} with an HTTP listener code. */
export function httpError(code: HttpErrorCode, message: string, cause?: unknown): SternaError {
  return new SternaError(code, message, cause === undefined ? undefined : { cause });
}
