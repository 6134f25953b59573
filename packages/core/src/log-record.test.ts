import { describe, expect, it } from 'vitest';
import { buildLogRecord, LOG_RECORD_KEYS } from './log-record.js';
import { makeResponse } from './response.js';
import { newSpoolId } from './spool-id.js';

describe('buildLogRecord', () => {
  const created = Date.UTC(2026, 10, 28, 2, 0, 0);
  const id = newSpoolId(created);

  it("produces exactly KumoMTA's keys, in order, with its defaults", () => {
    const record = buildLogRecord({
      type: 'Reception',
      id,
      sender: 's@example.org',
      recipient: ['r@example.com'],
      queue: 'example.com',
      size: 1234,
      response: makeResponse(250, '', { enhanced: null }),
      peer_address: { name: 'client.example', addr: '127.0.0.1' },
      time: created + 1500,
      reception_protocol: 'ESMTP',
      nodeid: '00000000-0000-0000-0000-000000000001',
    });
    expect(Object.keys(record)).toEqual([...LOG_RECORD_KEYS]);
    expect(record).toEqual({
      type: 'Reception',
      id,
      sender: 's@example.org',
      recipient: 'r@example.com',
      queue: 'example.com',
      site: '',
      size: 1234,
      response: { code: 250, enhanced_code: null, content: '', command: null },
      peer_address: { name: 'client.example', addr: '127.0.0.1' },
      timestamp: Math.floor((created + 1500) / 1000),
      event_time: '2026-11-28T02:00:01.500Z',
      created: created / 1000,
      created_time: '2026-11-28T02:00:00.000Z',
      num_attempts: 0,
      bounce_classification: 'Uncategorized',
      egress_pool: null,
      egress_source: null,
      source_address: null,
      feedback_report: null,
      meta: {},
      headers: {},
      delivery_protocol: null,
      reception_protocol: 'ESMTP',
      nodeid: '00000000-0000-0000-0000-000000000001',
    });
    expect(JSON.parse(JSON.stringify(record))).toEqual(record);
  });

  it('lists several recipients as an array and appends the optional keys only when set', () => {
    const record = buildLogRecord({
      type: 'Delivery',
      id,
      recipient: ['a@x', 'b@x'],
      response: makeResponse(250, '2.0.0 ok', { command: '.\r\n' }),
      nodeid: 'n',
      tls: { cipher: 'TLS_AES_256_GCM_SHA384', protocolVersion: 'TLSv1.3' },
      session_id: 'sess',
    });
    expect(record.recipient).toEqual(['a@x', 'b@x']);
    expect(Object.keys(record).slice(LOG_RECORD_KEYS.length)).toEqual([
      'tls_cipher',
      'tls_protocol_version',
      'session_id',
    ]);
    expect(record.response.enhanced_code).toEqual({ class: 2, subject: 0, detail: 0 });
    expect(record.created).toBe(created / 1000);
  });

  it('gives a Rejection an empty id and the event time as creation', () => {
    const record = buildLogRecord({
      type: 'Rejection',
      recipient: 'a@x',
      response: makeResponse(550, '5.7.1 no'),
      nodeid: 'n',
      time: 5000,
    });
    expect(record.id).toBe('');
    expect(record.created).toBe(5);
  });
});
