import type { MetaValue } from './envelope.js';
import {
  type AlwaysKeys,
  compileRecordBuilder,
  type FieldPresence,
  type RecordField,
  type RecordOf,
  type RecordSources,
} from './log-record-fields.js';
import type { PeerAddress, SourceAddress, TlsInfo } from './outcome.js';
import type { Response } from './response.js';

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

/**
 * What {@link buildLogRecord} needs; the rest defaults as KumoMTA's records do. A value that
 * becomes a record key has that key's name (`peer_address`, `num_attempts`, `nodeid`…); `time`
 * and `created` are epoch milliseconds, from which the record's times are made.
 */
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
  readonly peer_address?: PeerAddress | null;
  /** Event time, epoch ms. @default now */
  readonly time?: number;
  /** Message creation, epoch ms. @default from the id, else the event time */
  readonly created?: number;
  readonly num_attempts?: number;
  /** @default `'Uncategorized'` */
  readonly bounce_classification?: string;
  readonly egress_pool?: string | null;
  readonly egress_source?: string | null;
  readonly source_address?: SourceAddress | null;
  readonly feedback_report?: Record<string, unknown> | null;
  readonly meta?: Record<string, MetaValue>;
  readonly headers?: Record<string, string | string[]>;
  readonly delivery_protocol?: string | null;
  readonly reception_protocol?: string | null;
  readonly nodeid: string;
  readonly tls?: TlsInfo;
  readonly provider_name?: string;
  readonly session_id?: string;
}

type Row<K extends string, V, P extends FieldPresence<LogRecordType>> = RecordField<
  LogRecordInput,
  K,
  V,
  P
>;

function field<const K extends string, V, const P extends FieldPresence<LogRecordType>>(
  key: K,
  presence: P,
  value: (from: RecordSources<LogRecordInput>) => V,
): Row<K, V, P> {
  return { key, presence, value };
}

const seconds = (ms: number): number => Math.floor(ms / 1000);
const rfc3339 = (ms: number): string => new Date(ms).toISOString();

/**
 * KumoMTA's JSON log record (kumo-reference §7a), one row per key in its serialization order.
 * {@link LogRecord}, {@link LOG_RECORD_KEYS} and {@link buildLogRecord} are derived from it:
 * adding a key to the record is adding its row here (and, if its value comes from something new,
 * that input to {@link LogRecordInput}).
 */
export const LOG_RECORD_FIELDS = [
  field('type', 'always', ({ input }): LogRecordType => input.type),
  field('id', 'always', ({ id }): string => id),
  field('sender', 'always', ({ input }): string => input.sender ?? ''),
  // One recipient is a string, several (or none) an array.
  field('recipient', 'always', ({ input }): string | string[] =>
    typeof input.recipient === 'string'
      ? input.recipient
      : input.recipient.length === 1
        ? input.recipient[0]!
        : [...input.recipient],
  ),
  field('queue', 'always', ({ input }): string => input.queue ?? ''),
  field('site', 'always', ({ input }): string => input.site ?? ''),
  field('size', 'always', ({ input }): number => input.size ?? 0),
  field('response', 'always', ({ input }): Response => input.response),
  field('peer_address', 'always', ({ input }): PeerAddress | null => input.peer_address ?? null),
  field('timestamp', 'always', ({ time }): number => seconds(time)),
  field('event_time', 'always', ({ time }): string => rfc3339(time)),
  field('created', 'always', ({ created }): number => seconds(created)),
  field('created_time', 'always', ({ created }): string => rfc3339(created)),
  field('num_attempts', 'always', ({ input }): number => input.num_attempts ?? 0),
  field(
    'bounce_classification',
    'always',
    ({ input }): string => input.bounce_classification ?? 'Uncategorized',
  ),
  field('egress_pool', 'always', ({ input }): string | null => input.egress_pool ?? null),
  field('egress_source', 'always', ({ input }): string | null => input.egress_source ?? null),
  field(
    'source_address',
    'always',
    ({ input }): SourceAddress | null => input.source_address ?? null,
  ),
  field(
    'feedback_report',
    'always',
    ({ input }): Record<string, unknown> | null => input.feedback_report ?? null,
  ),
  // The log writer keeps only the meta keys and headers its config lists.
  field('meta', 'always', ({ input }): Record<string, MetaValue> => input.meta ?? {}),
  field('headers', 'always', ({ input }): Record<string, string | string[]> => input.headers ?? {}),
  field(
    'delivery_protocol',
    'always',
    ({ input }): string | null => input.delivery_protocol ?? null,
  ),
  field(
    'reception_protocol',
    'always',
    ({ input }): string | null => input.reception_protocol ?? null,
  ),
  field('nodeid', 'always', ({ input }): string => input.nodeid),
  field('tls_cipher', 'when set', ({ input }): string | undefined => input.tls?.cipher),
  field(
    'tls_protocol_version',
    'when set',
    ({ input }): string | undefined => input.tls?.protocolVersion,
  ),
  field('tls_peer_subject_name', 'when set', ({ input }): string[] | undefined => {
    const names = input.tls?.peerSubjectName;
    return names === undefined ? undefined : [...names];
  }),
  field('provider_name', 'when set', ({ input }): string | undefined => input.provider_name),
  field('session_id', 'when set', ({ input }): string | undefined => input.session_id),
] as const;

/** A log record in KumoMTA's JSON schema: the keys of {@link LOG_RECORD_FIELDS}. */
export type LogRecord = RecordOf<typeof LOG_RECORD_FIELDS>;

/** The keys every record has, in order; the optional ones follow only when set. */
export const LOG_RECORD_KEYS = LOG_RECORD_FIELDS.filter((f) => f.presence === 'always').map(
  (f) => f.key,
) as unknown as Readonly<AlwaysKeys<typeof LOG_RECORD_FIELDS>>;

const build = compileRecordBuilder<LogRecordInput>(LOG_RECORD_FIELDS);

/** Builds a log record with exactly KumoMTA's keys, in its order. */
export function buildLogRecord(input: LogRecordInput): LogRecord {
  return build(input) as LogRecord;
}
