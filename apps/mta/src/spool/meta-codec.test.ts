import { describe, expect, it } from 'vitest';
import { decodeMeta, encodeMeta } from './meta-codec.js';

const id = '0123456789abcdef0123456789abcdef';

describe("a spool record's metadata JSON", () => {
  it('keeps the keys it was first written with, whatever the in-memory names', () => {
    const json = encodeMeta({
      id,
      sender: 's@example.com',
      recipients: ['r@example.net'],
      meta: { tenant: 'acme' },
      size: 10,
      due: 1234,
      num_attempts: 3,
    }).toString('utf8');
    expect(json).toBe(
      '{"sender":"s@example.com","recipients":["r@example.net"],"meta":{"tenant":"acme"},"due":1234,"numAttempts":3}',
    );
  });

  it('reads a record written before, attempts included', () => {
    const before =
      '{"sender":"","recipients":["a@example.net","b@example.net"],"meta":{},"due":5678,"numAttempts":2}';
    expect(decodeMeta(id, 42, before)).toEqual({
      id,
      sender: '',
      recipients: ['a@example.net', 'b@example.net'],
      meta: {},
      size: 42,
      due: 5678,
      num_attempts: 2,
    });
    expect(decodeMeta(id, 0, '{"sender":"s","recipients":[],"meta":{}}')).toEqual({
      id,
      sender: 's',
      recipients: [],
      meta: {},
      size: 0,
    });
  });
});
