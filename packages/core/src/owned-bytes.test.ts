import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ownedBytes } from './owned-bytes.js';

/** What the other side of a real message port receives. */
function posted(value: Uint8Array): Promise<Uint8Array> {
  const { port1, port2 } = new MessageChannel();
  return new Promise((resolve) => {
    port2.once('message', (m: Uint8Array) => {
      port1.close();
      resolve(m);
    });
    port1.postMessage(value);
  });
}

describe('ownedBytes', () => {
  it('copies a view into a larger buffer, pooled Buffers included, and posts only its bytes', async () => {
    const pooled = Buffer.from('Subject: hi\r\n\r\nbody\r\n');
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.byteLength);
    expect((await posted(pooled)).buffer.byteLength).toBe(pooled.buffer.byteLength);
    const own = ownedBytes(pooled);
    expect(own.buffer).not.toBe(pooled.buffer);
    expect(Buffer.from(own).equals(pooled)).toBe(true);
    expect((await posted(own)).buffer.byteLength).toBe(pooled.byteLength);
    const slice = new Uint8Array(1 << 20).subarray(16, 32);
    expect(ownedBytes(slice).buffer.byteLength).toBe(16);
  });

  it('returns bytes that already own their buffer as they are', () => {
    const whole = new Uint8Array(32);
    expect(ownedBytes(whole)).toBe(whole);
    const empty = new Uint8Array(0);
    expect(ownedBytes(empty)).toBe(empty);
  });
});
