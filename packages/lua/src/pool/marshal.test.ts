import { describe, expect, it } from 'vitest';
import type { MessageSnapshot } from '../message/message-snapshot.js';
import { marshalArgs } from './marshal.js';

const snapshot = (data: Uint8Array): MessageSnapshot => ({
  id: '0123456789abcdef0123456789abcdef',
  sender: 'a@example.com',
  recipients: ['b@example.net'],
  meta: {},
  data,
  num_attempts: 0,
});

describe('marshalArgs', () => {
  it('gives a message that is a view into a larger buffer bytes of its own, Buffers included', () => {
    // A short Buffer.from is a view into Node's shared 8 KiB pool: Buffer#slice would be too.
    const pooled = Buffer.from('Subject: hi\r\n\r\nbody\r\n');
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.byteLength);
    const big = new Uint8Array(1024 * 1024);
    const [a, b] = marshalArgs([
      snapshot(pooled),
      snapshot(big.subarray(10, 20)),
    ]) as MessageSnapshot[];
    for (const [sent, from] of [
      [a!, pooled],
      [b!, big.subarray(10, 20)],
    ] as const) {
      expect(sent.data.buffer.byteLength).toBe(from.byteLength);
      expect(Buffer.from(sent.data).equals(Buffer.from(from))).toBe(true);
    }
  });

  it('sends a message that owns its whole buffer as it is', () => {
    const own = new Uint8Array(32);
    const message = snapshot(own);
    expect(marshalArgs([message])[0]).toBe(message);
  });
});
