/**
 * One Lua context: a wasmoon VM with its fixes (stack and hook leaks, bytes, tables), a deadline
 * on every call, a memory cap, and the preludes that build `kumo` and dispatch events.
 * @module
 */
export {
  type CallOutcome,
  LuaContext,
  type LuaContextOptions,
  policyDirOf,
} from './lua-context.js';
