/**
 * One Lua context: a wasmoon VM with its fixes (stack and hook leaks, bytes, tables), a deadline
 * on every call, a memory cap, and the preludes that build `kumo` and dispatch events; and
 * `PolicyContext`, what a pool worker holds of either engine (this one or src/js's).
 * @module
 */
export {
  LuaContext,
  type LuaContextOptions,
  policyDirOf,
} from './lua-context.js';
export type { CallOutcome, ContextStats, PolicyContext } from './policy-context.js';
