/**
 * Leaf helpers every other folder may use: the package's errors, own-key assignment, and how
 * values cross between Lua and TypeScript (bytes, tables, nil and JSON-like data).
 * @module
 */
export {
  type DisconnectMode,
  isLuaRejection,
  LUA_ERROR_CODES,
  type LuaErrorCode,
  LuaRejection,
  luaError,
} from './errors.js';
