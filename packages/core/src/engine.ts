/**
 * @sterna/core/engine: what the daemon needs beyond the driver contract — the driver registry
 * and core's lifecycle guard, the retry schedule, KumoMTA's log record, queue names, egress path
 * defaults, CIDR sets and maps, exact-JSON cache keys, header parsing, options validation and
 * spool ids. Drivers import `@sterna/core` only; a test or the testkit that plays the engine's
 * part imports this entry.
 * @packageDocumentation
 */
export {
  type CidrBlock,
  cidrContains,
  formatCidr,
  formatIpAddress,
  type IpAddress,
  type ParseIpOptions,
  parseCidr,
  parseIpAddress,
} from './cidr.js';
export { CidrMap, cidrSet } from './cidr-map.js';
export { DEFAULT_EGRESS_PATH, egressPath } from './egress-path.js';
export { exactJson } from './exact-json.js';
export { headerBlockEnd, latin1Text, parseHeaders } from './headers.js';
export {
  buildLogRecord,
  LOG_RECORD_KEYS,
  type LogRecord,
  type LogRecordInput,
  type LogRecordType,
} from './log-record.js';
export { ManagedConnection, openConnection } from './managed-connection.js';
export { ownedBytes } from './owned-bytes.js';
export { formatQueueName, formatReadyQueueName } from './queue-name.js';
export {
  DEFAULT_PROTOCOL,
  DriverRegistry,
  packageHintFor,
  type ResolvedProtocol,
} from './registry.js';
export {
  DEFAULT_RETRY_POLICY,
  delayForAttempt,
  inferNumAttempts,
  planRetry,
  type RetryDecision,
  type RetryInput,
  type RetryPolicy,
  retryJitter,
  retrySchedule,
} from './retry.js';
export { formatIssuePath, validateOptions } from './schema.js';
export { assertSpoolId, isSpoolId, newSpoolId, spoolIdTime } from './spool-id.js';
export {
  type ConnectionLimiter,
  gcra,
  type Lease,
  LOCAL_LIMIT_PREFIX,
  LocalConnectionLimits,
  LocalThrottles,
  parseThrottleSpec,
  type ThrottleResult,
  type ThrottleSpec,
  type ThrottleStore,
  throttleSpecProblem,
  WaitingLines,
} from './throttle.js';
