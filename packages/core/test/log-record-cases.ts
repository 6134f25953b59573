import type { LogRecordInput, LogRecordType } from '../src/log-record.js';
import { makeResponse } from '../src/response.js';

/**
 * Log-record inputs covering every record type and every way the builder's callers fill it in
 * (the reception, rejection and disposition call sites in apps/mta, the benchmarks, the log
 * writer's tests and core's own). `test/fixtures/log-records.json` holds what the builder made
 * of each when the fixtures were captured; the builder must keep making exactly that.
 */

/** The clock the cases without a `time` see. */
export const CASE_NOW = Date.UTC(2026, 10, 28, 2, 0, 7, 250);

export const RECORD_TYPES: readonly LogRecordType[] = [
  'Reception',
  'Delivery',
  'Bounce',
  'TransientFailure',
  'Expiration',
  'AdminBounce',
  'OOB',
  'Feedback',
  'Rejection',
  'AdminRebind',
  'DeferredInjectionRebind',
  'Delayed',
  'XferOut',
  'XferIn',
];

// A v1-UUID spool id created 2026-11-28T02:00:00.123Z (so `created` comes from it).
const ID = '6b1a94b0eacf11f18a2b0123456789ab';
const NODE = '1b2c3d4e-0000-4000-8000-000000000000';
const PEER = { name: 'mx.example.net', addr: '192.0.2.10' };

const variants: Record<string, Omit<LogRecordInput, 'type'>> = {
  // Core's defaults: only what every record needs.
  minimal: { recipient: 'a@x', response: makeResponse(550, '5.7.1 no'), nodeid: 'n', time: 5000 },
  // No time: the builder reads the clock.
  'no-time': { id: ID, recipient: ['a@x'], response: makeResponse(250, 'ok'), nodeid: NODE },
  // apps/mta reception/receiver.ts
  reception: {
    id: ID,
    sender: 's@example.org',
    recipient: ['r@example.com'],
    queue: 'example.com',
    size: 1234,
    response: makeResponse(250, '', { enhanced: null }),
    peer_address: { name: 'client.example', addr: '127.0.0.1' },
    time: Date.UTC(2026, 10, 28, 2, 0, 1, 500),
    reception_protocol: 'ESMTP',
    nodeid: NODE,
  },
  'reception-several': {
    id: ID,
    sender: '',
    recipient: ['a@example.com', 'b@example.com', 'c@example.net'],
    queue: 'camp:tenant@example.com!routed.example',
    size: 0,
    response: makeResponse(250, '', { enhanced: null }),
    peer_address: null,
    time: Date.UTC(2026, 10, 28, 2, 0, 1, 999),
    reception_protocol: null,
    nodeid: NODE,
  },
  // apps/mta smtp/listener.ts: no id, no time, the envelope's recipients (maybe none yet).
  'rejection-none': {
    sender: '',
    recipient: [],
    response: makeResponse(421, 'too busy', { command: 'EHLO client.example' }),
    peer_address: { name: '', addr: '::1' },
    reception_protocol: 'ESMTP',
    nodeid: NODE,
  },
  'rejection-one': {
    sender: 's@example.org',
    recipient: 'r@example.com',
    response: makeResponse(550, '5.1.1 no such user "r"', { command: 'RCPT TO:<r@example.com>' }),
    peer_address: { name: 'client.example', addr: '127.0.0.1' },
    reception_protocol: 'ESMTP',
    nodeid: NODE,
  },
  // apps/mta queue/disposition.ts, everything set.
  'disposition-full': {
    id: ID,
    sender: 'sender@example.com',
    recipient: ['rcpt@example.net'],
    queue: 'spring-2026:acme@example.net',
    site: 'unspecified->(alt1|alt2)?.mx.example.net@smtp_client',
    size: 4096,
    response: makeResponse(250, '2.0.0 OK queued as ABC\r\nmore', { command: '.\r\n' }),
    peer_address: PEER,
    time: Date.UTC(2026, 10, 28, 3, 0, 0, 0),
    created: Date.UTC(2026, 10, 28, 1, 59, 59, 999),
    num_attempts: 3,
    egress_pool: 'pool-a',
    egress_source: 'ip-1',
    delivery_protocol: 'ESMTP',
    reception_protocol: 'HTTP',
    nodeid: NODE,
    tls: {
      cipher: 'TLS_AES_256_GCM_SHA384',
      protocolVersion: 'TLSv1.3',
      peerSubjectName: ['CN=mx.example.net', 'O=Example'],
    },
    provider_name: 'example',
    session_id: '0b6a2f3c-1111-4111-8111-111111111111',
  },
  // apps/mta queue/disposition.ts, nothing optional (expirations, scheduled-queue failures).
  'disposition-bare': {
    id: ID,
    sender: 'sender@example.com',
    recipient: ['rcpt@example.net', 'other@example.net'],
    queue: 'example.net',
    site: '',
    size: 17,
    response: makeResponse(551, '5.4.7 Next delivery time would be too late'),
    peer_address: null,
    time: Date.UTC(2026, 10, 30, 0, 0, 0, 0),
    created: Date.UTC(2026, 10, 28, 2, 0, 0, 123),
    num_attempts: 0,
    egress_pool: null,
    egress_source: null,
    delivery_protocol: null,
    reception_protocol: null,
    nodeid: NODE,
  },
  'tls-cipher-only': {
    id: ID,
    recipient: 'a@x',
    response: makeResponse(421, '4.7.0 try later', { command: 'STARTTLS\r\n' }),
    time: 86_400_000,
    nodeid: 'n',
    tls: { cipher: 'TLS_AES_128_GCM_SHA256' },
    session_id: 's',
  },
  'tls-subject-only': {
    id: ID,
    recipient: 'a@x',
    response: makeResponse(250, 'ok'),
    time: 86_400_000,
    nodeid: 'n',
    tls: { peerSubjectName: [] },
    provider_name: '',
  },
  'tls-empty': {
    id: ID,
    recipient: 'a@x',
    response: makeResponse(250, 'ok'),
    time: 86_400_000,
    nodeid: 'n',
    tls: {},
  },
  // apps/mta test/logs-writer.test.ts
  'log-writer': {
    id: ID,
    sender: 'sender@example.com',
    recipient: 'rcpt@example.net',
    queue: 'example.net',
    site: 'unspecified->mx_list:127.0.0.1@smtp_client',
    size: 1234,
    response: makeResponse(250, '2.0.0 OK queued', { command: '.\r\n' }),
    peer_address: { name: 'mx.example.net', addr: '127.0.0.1' },
    time: 1_790_000_000_001,
    num_attempts: 1,
    egress_pool: 'pool',
    egress_source: 'src',
    source_address: { address: '127.0.0.1:40000' },
    delivery_protocol: 'ESMTP',
    reception_protocol: 'ESMTP',
    nodeid: NODE,
    tls: { cipher: 'TLS_AES_256_GCM_SHA384', protocolVersion: 'TLSv1.3' },
    session_id: '0b6a2f3c-1111-4111-8111-111111111111',
  },
  // Every input set, including the ones no caller sets today.
  everything: {
    id: 'not-a-spool-id',
    sender: 'bounce@example.org',
    recipient: ['only@example.org'],
    queue: 'example.org',
    site: 'localhost',
    size: 99,
    response: makeResponse(550, '5.7.1 Administrator bounced with reason: x'),
    peer_address: { name: 'Lua via make.webhook', addr: '0.0.0.0' },
    time: 1_790_000_000_999,
    num_attempts: 65535,
    bounce_classification: 'InvalidRecipient',
    egress_pool: 'p',
    egress_source: 's',
    source_address: { address: '10.0.0.1:25', server: '10.0.0.2:1080', protocol: 'socks5' },
    feedback_report: { feedback_type: 'abuse', arf: { version: 1, nested: [1, null, 'x'] } },
    meta: { tenant: 't', list: [1, 'two', { three: true }], none: null },
    headers: { Subject: 'hello', Received: ['a', 'b'] },
    delivery_protocol: 'Lua',
    reception_protocol: 'LogRecord',
    nodeid: NODE,
    tls: { cipher: 'c', protocolVersion: 'v', peerSubjectName: ['CN=x'] },
    provider_name: 'provider',
    session_id: 'session',
  },
};

/** Every variant under every record type, named `Type/variant`. */
export const LOG_RECORD_CASES: ReadonlyArray<readonly [string, LogRecordInput]> =
  RECORD_TYPES.flatMap((type) =>
    Object.entries(variants).map(
      ([name, input]) => [`${type}/${name}`, { type, ...input }] as const,
    ),
  );
