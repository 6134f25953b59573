import { SternaError } from '@sterna/core';

/**
 * The error codes of `@sterna/lua`; `docs/errors.md` documents each one (a test keeps the two
 * in step).
 */
export const LUA_ERROR_CODES = {
  STERNA_LUA_LOAD: 'The policy (or a file it requires) failed to load: syntax or runtime error.',
  STERNA_LUA_TIMEOUT: 'An event or method call overran its deadline and was stopped.',
  STERNA_LUA_ERROR: 'A Lua error (not a `kumo.reject`) was raised by an event or method.',
  STERNA_LUA_NO_HANDLER: 'A constructor event or object method that the policy does not define.',
  STERNA_LUA_CONTEXT_LOST:
    'The Lua context serving a call or holding an object was terminated and replaced.',
  STERNA_LUA_CLOSED: 'The policy runtime was used after `close()`.',
  STERNA_LUA_ARGS:
    'The arguments of an event or method call cannot be copied into a Lua context (nested too deeply, or not data).',
  STERNA_LUA_CONFIG_INVALID:
    'A table given to a `kumo.make_*` or configuration function failed validation.',
} as const;

/** A stable error code of `@sterna/lua`. */
export type LuaErrorCode = keyof typeof LUA_ERROR_CODES;

/** How `kumo.disconnect(code, text, how)` asks the listener to close the connection. */
export type DisconnectMode = 'If421' | 'FollowWith421' | 'ForceDisconnect';

/**
 * A `kumo.reject(code, text)` raised by the policy, as it reaches TypeScript. Not a
 * {@link SternaError}: the policy chose this outcome on purpose (an SMTP reply, a delivery
 * verdict), and `code` is the SMTP status, not an error code.
 */
export class LuaRejection extends Error {
  /** The status the policy gave, e.g. `400` or `550`. */
  readonly code: number;
  /** The text the policy gave, e.g. `'later'` or `'5.7.1 go away'`. */
  readonly text: string;
  /**
   * Set when the policy called `kumo.disconnect(code, text [, how])` rather than
   * `kumo.reject`: reply, then close the connection as `how` says (default `ForceDisconnect`).
   */
  readonly disconnect: DisconnectMode | undefined;

  constructor(code: number, text: string, disconnect?: DisconnectMode) {
    super(`${code} ${text}`);
    this.name = 'LuaRejection';
    this.code = code;
    this.text = text;
    this.disconnect = disconnect;
  }
}

/** True when `error` is a {@link LuaRejection}. */
export function isLuaRejection(error: unknown): error is LuaRejection {
  return error instanceof LuaRejection;
}

/** A {@link SternaError} with one of this package's codes. */
export function luaError(code: LuaErrorCode, message: string, cause?: unknown): SternaError {
  return new SternaError(code, message, cause === undefined ? undefined : { cause });
}
