/**
 * Policy tables turned into typed config with KumoMTA's keys, defaults and validation: queue
 * and egress configs, listener domains, and the configuration calls handed to the daemon.
 * @module
 */
export {
  CONFIG_FUNCTIONS,
  CONFIG_SCHEMAS,
  type ConfigKind,
  type ConfigParams,
  parseConfigParams,
  parseShapingAutomationRules,
  type RedisParams,
  redisParamsSchema,
  type ShapingAutomationRule,
  shapingAutomationRuleSchema,
} from './config-params.js';
export {
  configTableKey,
  type EgressPool,
  type EgressSource,
  egressPathSchema,
  egressPoolSchema,
  egressSourceSchema,
  type ListenerDomain,
  listenerDomainSchema,
  parseEgressPath,
  parseEgressPool,
  parseEgressSource,
  parseListenerDomain,
} from './egress-config.js';
export { parseQueueConfig, type QueueConfig, queueConfigSchema } from './queue-config.js';
export { duration as durationSchema, parseWith } from './schema-helpers.js';
