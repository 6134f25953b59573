/**
 * @sterna/lua: the KumoMTA Lua policy runtime for Sterna, on wasmoon. A pool of Lua contexts
 * in worker threads runs the operator's policy unchanged: events, `kumo.*`, the message
 * object, deadlines and memory caps. See docs/policy-api.md for what is supported.
 * @packageDocumentation
 */
export {
  CONFIG_SCHEMAS,
  type ConfigKind,
  type ConfigParams,
  parseConfigParams,
} from './config-params.js';
export type { LogLevel } from './context-host.js';
export {
  type EgressPool,
  type EgressSource,
  type ListenerDomain,
  parseEgressPath,
  parseEgressPool,
  parseEgressSource,
  parseListenerDomain,
} from './egress-config.js';
export {
  type DisconnectMode,
  isLuaRejection,
  LUA_ERROR_CODES,
  type LuaErrorCode,
  LuaRejection,
} from './errors.js';
export {
  type EnvelopeAddressArg,
  envelopeAddress,
  isMessageSnapshot,
  type MessageSnapshot,
  queueNameOf,
  snapshotOf,
} from './message-snapshot.js';
export { startModuleWorker } from './module-worker.js';
export {
  type CallOptions,
  type EventResult,
  PolicyRuntime,
  type PolicyRuntimeOptions,
} from './policy-runtime.js';
export { parseQueueConfig, type QueueConfig } from './queue-config.js';
export type { PolicyResolver, RuntimeHost } from './runtime-host.js';
export { duration as durationSchema } from './schema-helpers.js';
export type { WorkerStats } from './worker-protocol.js';
