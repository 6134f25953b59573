/**
 * `@sterna/policy`: write a Sterna policy in TypeScript. A policy module registers handlers
 * for KumoMTA's events by their names (`on('get_queue_config', …)`), builds the tables they
 * return with KumoMTA's keys (`makeQueueConfig({ retry_interval: '10m' })`), configures the
 * daemon from `init` (`startEsmtpListener`, `defineSpool`, `configureLocalLogs`, …) and asks it
 * for DNS, throttles, logs and tasks while handlers run. `sterna --policy policy.ts` runs it in
 * the same worker pool as a Lua policy; `@sterna/policy/testing` runs its handlers in unit
 * tests, and `@sterna/policy/extras` holds the policy-extras helpers.
 *
 * ```ts
 * import { makeQueueConfig, on, startEsmtpListener } from '@sterna/policy';
 *
 * on('init', async () => {
 *   await startEsmtpListener({ listen: '0.0.0.0:25' });
 * });
 * on('get_queue_config', (domain) =>
 *   domain === 'example.com' ? makeQueueConfig({ max_age: '2 days' }) : undefined,
 * );
 * ```
 * @packageDocumentation
 */
export type {
  AddressHeader,
  ConnectionMeta,
  EnvelopeAddress,
  HeaderMailbox,
  Message,
  SchedulingParams,
} from '@sterna/lua';
export {
  type EgressPathParams,
  type EgressPoolParams,
  type EgressSourceParams,
  type ListenerDomainParams,
  makeEgressPath,
  makeEgressPool,
  makeEgressSource,
  makeListenerDomain,
  makeQueueConfig,
  type QueueConfigParams,
} from './builders.js';
export {
  type BounceClassifierParams,
  bumpConfigEpoch,
  configureAccountingDbPath,
  configureBounceClassifier,
  configureLocalLogs,
  configureLogHook,
  configureRedisThrottles,
  type DnsResolverParams,
  defineSpool,
  type EsmtpListenerParams,
  type HttpListenerParams,
  type LocalLogsParams,
  type LogHookParams,
  type RedisThrottlesParams,
  type SpoolParams,
  setConfigMonitorGlobs,
  setDiagnosticLogFilter,
  startEsmtpListener,
  startHttpListener,
  validationFailed,
} from './configure.js';
export type {
  Awaitable,
  HttpAuthInfo,
  Optional,
  PolicyEventName,
  PolicyEvents,
} from './event-types.js';
export { disconnect, type OwnEventName, on, PolicyRejection, reject } from './events.js';
export {
  type BounceResponse,
  classifyBounce,
  dns,
  log,
  type MxTable,
  makeThrottle,
  type RedisConnection,
  type RedisParams,
  redis,
  spawnTask,
  type Throttle,
  type ThrottleCheck,
} from './services.js';
export type { TableOf } from './table-types.js';
