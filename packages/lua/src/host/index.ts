/**
 * What a Lua context needs from outside itself: the declaration of every host call Lua makes
 * (`HOST_CALLS`: name, types, the thread it runs on), the table a context gets from it, and
 * the host interfaces (`RuntimeHost`, which the daemon provides, and `ContextHost`, its view
 * from inside a worker).
 * @module
 */
export type { ContextHost } from './context-host.js';
export type { ContextCall, DaemonCall, DaemonOptions, HostCall } from './host-call-kinds.js';
export {
  type ContextCallName,
  type ContextImplementations,
  type DaemonArgs,
  type DaemonCallName,
  type DaemonCalls,
  type DaemonHandlers,
  type DaemonResult,
  type DeclaredType,
  type DkimKind,
  HOST_CALLS,
  type HostCallName,
  type HttpResult,
  type LogLevel,
  type MakeKind,
  type MxTable,
  type RuntimeCallName,
  type RuntimeHandlers,
  type StackFunction,
} from './host-calls.js';
export { type Exactly, hostTable } from './host-table.js';
export type { PolicyResolver, RuntimeHost } from './runtime-host.js';
