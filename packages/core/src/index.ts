/**
 * @sterna/core: the contract between Sterna's engine and its protocol drivers. No I/O here:
 * types and the few runtime helpers every driver and the daemon share.
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
export { CidrMap, CidrSet, cidrSet } from './cidr-map.js';
export {
  type Clock,
  type DnsResolver,
  type DriverContext,
  type Logger,
  type MxRecord,
  type PolicyHost,
  type PolicyObject,
  silentLogger,
  systemClock,
} from './context.js';
export {
  type AnyProtocolDriver,
  type Connection,
  type DeliveryTarget,
  DRIVER_API_VERSION,
  type DriverCapabilities,
  defineProtocolDriver,
  isProtocolDriver,
  type ProtocolDriver,
  type ProtocolDriverSpec,
  type SendOptions,
  type Site,
  type SiteBatching,
  type SiteResolution,
} from './driver.js';
export { type DurationInput, formatDuration, parseDuration } from './duration.js';
export {
  DEFAULT_EGRESS_PATH,
  type EgressPathConfig,
  egressPath,
  type IpLookupStrategy,
  type ReconnectStrategy,
  type TlsMode,
} from './egress-path.js';
export {
  ERROR_CODES,
  errorText,
  isSternaError,
  SternaError,
  type SternaErrorCode,
} from './errors.js';
export { type HeaderField, headerBlockEnd, parseHeaders } from './headers.js';
export {
  buildLogRecord,
  LOG_RECORD_KEYS,
  type LogRecord,
  type LogRecordInput,
  type LogRecordType,
  type SourceAddress,
} from './log-record.js';
export { internalFailure, ManagedConnection, openConnection } from './managed-connection.js';
export {
  createMessage,
  domainOf,
  localPartOf,
  type Message,
  type MessageInit,
  type MetaValue,
} from './message.js';
export {
  type DeliveryFailure,
  failAll,
  isDeliveryFailure,
  type Outcome,
  type OutcomeExtras,
  outcomeFor,
  type PeerAddress,
  type TlsInfo,
} from './outcome.js';
export {
  formatQueueName,
  formatReadyQueueName,
  parseQueueName,
  type QueueNameParts,
} from './queue-name.js';
export {
  DEFAULT_PROTOCOL,
  DriverRegistry,
  packageHintFor,
  type ResolvedProtocol,
} from './registry.js';
export {
  classifyResponse,
  type Disposition,
  type EnhancedCode,
  formatEnhancedCode,
  makeResponse,
  parseEnhancedCode,
  parseSmtpReply,
  type Response,
} from './response.js';
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
export { formatIssuePath, type OptionsSchema, validateOptions } from './schema.js';
export { isSpoolId, newSpoolId, spoolIdTime } from './spool-id.js';
