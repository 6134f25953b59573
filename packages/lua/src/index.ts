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
} from './config/config-params.js';
export {
  type EgressPool,
  type EgressSource,
  type ListenerDomain,
  parseEgressPath,
  parseEgressPool,
  parseEgressSource,
  parseListenerDomain,
} from './config/egress-config.js';
export { parseQueueConfig, type QueueConfig } from './config/queue-config.js';
export { duration as durationSchema } from './config/schema-helpers.js';
export type { LogLevel } from './host/context-host.js';
export type { PolicyResolver, RuntimeHost } from './host/runtime-host.js';
export {
  type EnvelopeAddressArg,
  envelopeAddress,
  isMessageSnapshot,
  type MessageSnapshot,
  queueNameOf,
  snapshotOf,
} from './message/message-snapshot.js';
export {
  type CallOptions,
  type EventResult,
  PolicyRuntime,
  type PolicyRuntimeOptions,
} from './pool/policy-runtime.js';
export type { WorkerStats } from './pool/worker-protocol.js';
export {
  type DisconnectMode,
  isLuaRejection,
  LUA_ERROR_CODES,
  type LuaErrorCode,
  LuaRejection,
} from './shared/errors.js';
export { startModuleWorker } from './threads/module-worker.js';
