import { describe, expect, expectTypeOf, it } from 'vitest';
import type { MetaValue } from './envelope.js';
import {
  buildLogRecord,
  LOG_RECORD_FIELDS,
  LOG_RECORD_KEYS,
  type LogRecord,
  type LogRecordInput,
  type LogRecordType,
} from './log-record.js';
import { assembleRecord, compileRecordBuilder, type RecordField } from './log-record-fields.js';
import type { PeerAddress, SourceAddress } from './outcome.js';
import { makeResponse } from './response.js';

// The record as it was declared by hand before the table; the derived type must stay exactly it.
interface DeclaredLogRecord {
  type: LogRecordType;
  id: string;
  sender: string;
  recipient: string | string[];
  queue: string;
  site: string;
  size: number;
  response: ReturnType<typeof makeResponse>;
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

describe('the log record table', () => {
  it('derives the record type the record always had', () => {
    expectTypeOf<LogRecord>().toEqualTypeOf<DeclaredLogRecord>();
    expectTypeOf<(typeof LOG_RECORD_KEYS)[number]>().toEqualTypeOf<
      {
        [K in keyof DeclaredLogRecord]-?: undefined extends DeclaredLogRecord[K] ? never : K;
      }[keyof DeclaredLogRecord]
    >();
  });

  it('declares each key once, and the always-present keys first, in KumoMTA order', () => {
    const keys = LOG_RECORD_FIELDS.map((f) => f.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.slice(0, LOG_RECORD_KEYS.length)).toEqual([...LOG_RECORD_KEYS]);
    expect(LOG_RECORD_FIELDS.slice(LOG_RECORD_KEYS.length).map((f) => f.presence)).toEqual(
      keys.slice(LOG_RECORD_KEYS.length).map(() => 'when set'),
    );
  });

  const fields: RecordField<LogRecordInput>[] = [
    { key: 'type', presence: 'always', value: ({ input }) => input.type },
    { key: 'report', presence: ['Feedback', 'OOB'], value: () => null },
    { key: 'late', presence: 'when set', value: ({ input }) => input.session_id },
    { key: 'odd"key', presence: 'always', value: ({ time }) => time },
  ];
  const input = { recipient: 'a@x', response: makeResponse(250, 'ok'), nodeid: 'n', time: 7 };

  it.each([
    ['row by row', (i: LogRecordInput) => assembleRecord(fields, i)],
    ['compiled', compileRecordBuilder(fields)],
  ])('puts a key restricted to some record types in those records only (%s)', (_, build) => {
    expect(build({ ...input, type: 'Feedback' })).toEqual({
      type: 'Feedback',
      report: null,
      'odd"key': 7,
    });
    expect(Object.keys(build({ ...input, type: 'OOB', session_id: 's' }))).toEqual([
      'type',
      'report',
      'late',
      'odd"key',
    ]);
    expect(Object.keys(build({ ...input, type: 'Delivery' }))).toEqual(['type', 'odd"key']);
  });

  it('passes the caller’s response, meta and headers through as they are', () => {
    const response = makeResponse(250, 'ok');
    const meta = { a: 1 };
    const headers = { Subject: 's' };
    const record = buildLogRecord({
      type: 'Delivery',
      recipient: 'a@x',
      response,
      meta,
      headers,
      nodeid: 'n',
    });
    expect(record.response).toBe(response);
    expect(record.meta).toBe(meta);
    expect(record.headers).toBe(headers);
  });
});
