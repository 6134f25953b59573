/**
 * @sterna/core: the contract between Sterna's engine and its protocol drivers — what a driver
 * author writes against. What only the daemon needs is in `@sterna/core/engine`. No I/O here.
 * @packageDocumentation
 */
export { CidrSet } from './cidr-map.js';
export {
  type Clock,
  type DnsResolver,
  type DriverContext,
  type Logger,
  type MxRecord,
  type PolicyHost,
  type PolicyObject,
  type SessionTracePayload,
  type SessionTracer,
  silentLogger,
  systemClock,
  type TracedSession,
  type TraceMeta,
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
export type {
  EgressPathConfig,
  IpLookupStrategy,
  ReconnectStrategy,
  TlsMode,
} from './egress-path.js';
export {
  type EgressSource,
  egressProxyOf,
  UNSPECIFIED_EGRESS,
  UNSPECIFIED_EGRESS_SOURCE,
} from './egress-source.js';
export type { Envelope, MetaValue } from './envelope.js';
export {
  ERROR_CODES,
  errorText,
  isSternaError,
  SternaError,
  type SternaErrorCode,
} from './errors.js';
export type { HeaderField } from './headers.js';
export { internalFailure } from './managed-connection.js';
export {
  createMessage,
  domainOf,
  localPartOf,
  type Message,
  type MessageInit,
} from './message.js';
export {
  type DeliveryFailure,
  failAll,
  isDeliveryFailure,
  type Outcome,
  type OutcomeExtras,
  outcomeFor,
  type PeerAddress,
  type SourceAddress,
  type TlsInfo,
} from './outcome.js';
export { parseQueueName, type QueueNameParts } from './queue-name.js';
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
export type { OptionsSchema } from './schema.js';
