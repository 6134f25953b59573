import type { MetaValue } from './message.js';
import type { PeerAddress, TlsInfo } from './outcome.js';
import type { Response } from './response.js';
import { isSpoolId, spoolIdTime } from './spool-id.js';

/** The kinds of log record KumoMTA writes. */
export type LogRecordType =
  | 'Reception'
  | 'Delivery'
  | 'Bounce'
  | 'TransientFailure'
  | 'Expiration'
  | 'AdminBounce'
  | 'OOB'
  | 'Feedback'
  | 'Rejection'
  | 'AdminRebind'
  | 'DeferredInjectionRebind'
  | 'Delayed'
  | 'XferOut'
  | 'XferIn';

/** `source_address` of an SMTP delivery. */
export interface SourceAddress {
  readonly address: string;
  readonly server?: string;
  readonly protocol?: 'haproxy' | 'socks5';
}

/** A log record in KumoMTA's JSON schema, keys in its serialization order. */
export interface LogRecord {
  type: LogRecordType;
  id: string;
  sender: string;
  recipient: string | string[];
  queue: string;
  site: string;
  size: number;
  response: Response;
  peer_address: PeerAddress | null;
  timestamp: number;
  event_time: string;
  created: number;
  created_time: string;
  num_attempts: number;
  bounce_classification: string;
  egress_pool: string | null;
  egress_source: string | null;
  source_address: SourceAddress | null;
  feedback_report: Record<string, unknown> | null;
  meta: Record<string, MetaValue>;
  headers: Record<string, string | string[]>;
  delivery_protocol: string | null;
  reception_protocol: string | null;
  nodeid: string;
  tls_cipher?: string;
  tls_protocol_version?: string;
  tls_peer_subject_name?: string[];
  provider_name?: string;
  session_id?: string;
}

/** The keys every record has, in order; the optional ones follow only when set. */
export const LOG_RECORD_KEYS = [
  'type',
  'id',
  'sender',
  'recipient',
  'queue',
  'site',
  'size',
  'response',
  'peer_address',
  'timestamp',
  'event_time',
  'created',
  'created_time',
  'num_attempts',
  'bounce_classification',
  'egress_pool',
  'egress_source',
  'source_address',
  'feedback_report',
  'meta',
  'headers',
  'delivery_protocol',
  'reception_protocol',
  'nodeid',
] as const satisfies readonly (keyof LogRecord)[];

/** What {@link buildLogRecord} needs; the rest defaults as KumoMTA's records do. */
export interface LogRecordInput {
  readonly type: LogRecordType;
  /** @default `''` (Rejection records have no id) */
  readonly id?: string;
  readonly sender?: string;
  readonly recipient: string | readonly string[];
  readonly queue?: string;
  readonly site?: string;
  readonly size?: number;
  readonly response: Response;
  readonly peerAddress?: PeerAddress | null;
  /** Event time, epoch ms. @default now */
  readonly time?: number;
  /** Message creation, epoch ms. @default from the id, else the event time */
  readonly created?: number;
  readonly numAttempts?: number;
  /** @default `'Uncategorized'` */
  readonly bounceClassification?: string;
  readonly egressPool?: string | null;
  readonly egressSource?: string | null;
  readonly sourceAddress?: SourceAddress | null;
  readonly feedbackReport?: Record<string, unknown> | null;
  readonly meta?: Record<string, MetaValue>;
  readonly headers?: Record<string, string | string[]>;
  readonly deliveryProtocol?: string | null;
  readonly receptionProtocol?: string | null;
  readonly nodeId: string;
  readonly tls?: TlsInfo;
  readonly providerName?: string;
  readonly sessionId?: string;
}

/** Builds a log record with exactly KumoMTA's keys, in its order. */
export function buildLogRecord(input: LogRecordInput): LogRecord {
  const time = input.time ?? Date.now();
  const id = input.id ?? '';
  const created = input.created ?? (isSpoolId(id) ? spoolIdTime(id) : time);
  const recipients = typeof input.recipient === 'string' ? [input.recipient] : [...input.recipient];
  const record: LogRecord = {
    type: input.type,
    id,
    sender: input.sender ?? '',
    recipient: recipients.length === 1 ? recipients[0]! : recipients,
    queue: input.queue ?? '',
    site: input.site ?? '',
    size: input.size ?? 0,
    response: input.response,
    peer_address: input.peerAddress ?? null,
    timestamp: Math.floor(time / 1000),
    event_time: new Date(time).toISOString(),
    created: Math.floor(created / 1000),
    created_time: new Date(created).toISOString(),
    num_attempts: input.numAttempts ?? 0,
    bounce_classification: input.bounceClassification ?? 'Uncategorized',
    egress_pool: input.egressPool ?? null,
    egress_source: input.egressSource ?? null,
    source_address: input.sourceAddress ?? null,
    feedback_report: input.feedbackReport ?? null,
    meta: input.meta ?? {},
    headers: input.headers ?? {},
    delivery_protocol: input.deliveryProtocol ?? null,
    reception_protocol: input.receptionProtocol ?? null,
    nodeid: input.nodeId,
  };
  if (input.tls?.cipher !== undefined) record.tls_cipher = input.tls.cipher;
  if (input.tls?.protocolVersion !== undefined)
    record.tls_protocol_version = input.tls.protocolVersion;
  if (input.tls?.peerSubjectName !== undefined)
    record.tls_peer_subject_name = [...input.tls.peerSubjectName];
  if (input.providerName !== undefined) record.provider_name = input.providerName;
  if (input.sessionId !== undefined) record.session_id = input.sessionId;
  return record;
}
