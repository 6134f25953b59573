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
  configTableKey,
  durationSchema,
  type EgressPool,
  type EgressSource,
  egressPathSchema,
  egressPoolSchema,
  egressSourceSchema,
  type ListenerDomain,
  listenerDomainSchema,
  parseConfigParams,
  parseEgressPath,
  parseEgressPool,
  parseEgressSource,
  parseListenerDomain,
  parseQueueConfig,
  parseShapingAutomationRules,
  parseWith,
  type QueueConfig,
  queueConfigSchema,
  type RedisParams,
  redisParamsSchema,
  type ShapingAutomationRule,
  shapingAutomationRuleSchema,
} from './config/index.js';
export type {
  AmqpBasicPublishParams,
  AmqpConfirmation,
  AmqpPublishParams,
  NatsConnectParams,
  NatsPublishParams,
} from './config/service-params.js';
/**
 * The folder holding `policy-extras/` (the Lua helpers and Sterna's default `shaping.toml`), in
 * `src/` or `dist/`: `@sterna/policy/extras` reads the default shaping file from it.
 */
export { POLICY_EXTRAS_ROOT } from './context/preludes.js';
export type {
  DaemonCalls,
  DaemonHandlers,
  LogLevel,
  PolicyResolver,
  RuntimeHost,
} from './host/index.js';
export type {
  AddressHeader,
  ConnectionMeta,
  EnvelopeAddress,
  HeaderMailbox,
  ImportHeaderSpec,
  Message,
  SchedulingParams,
} from './js/api-types.js';
export {
  BRIDGE_KEY,
  type BridgeHandler,
  MULTIPLE_EVENTS,
  type PolicyBridge,
  PolicyRejection,
  policyBridge,
  rejectionOf,
  settleConfiguration,
  trackConfiguration,
} from './js/bridge.js';
export { newConnectionMeta } from './js/connection-meta.js';
export { newEnvelopeAddress } from './js/envelope-address.js';
export { isJsPolicy, JS_POLICY_EXTENSIONS } from './js/policy-file.js';
export { newPolicyMessage } from './js/policy-message.js';
export { type BounceRule, parseBounceRulesFile } from './kumo/bounce-rules-file.js';
export { mxTableOf } from './kumo/mx-table.js';
export {
  RegexUnsupported,
  type TranslatedRegex,
  translateRegex,
  UNICODE_SPELLINGS,
} from './kumo/regex-translate.js';
export {
  type ConnectionMetaArg,
  connectionMetaArg,
  type EnvelopeAddressArg,
  envelopeAddress,
  isMessageSnapshot,
  type MessageSnapshot,
  queueNameOf,
  snapshotOf,
} from './message/index.js';
export {
  type CallOptions,
  type EventResult,
  PolicyRuntime,
  type PolicyRuntimeOptions,
  type WorkerStats,
} from './pool/index.js';
export {
  type DisconnectMode,
  isLuaRejection,
  LUA_ERROR_CODES,
  type LuaErrorCode,
  LuaRejection,
} from './shared/index.js';
export { stripJsonComments } from './shared/json-text.js';
export { startModuleWorker } from './threads/index.js';
