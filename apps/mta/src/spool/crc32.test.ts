import { describe, expect, it } from 'vitest';
import { crc32 } from './crc32.js';

describe('crc32', () => {
  it('matches the standard check value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(Buffer.from('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
  });

  it('continues across pieces of any length', () => {
    const bytes = Buffer.from(Array.from({ length: 1003 }, (_, i) => (i * 31) & 0xff));
    for (const cut of [0, 1, 3, 4, 5, 500, 1002]) {
      expect(crc32(bytes.subarray(cut), crc32(bytes.subarray(0, cut)))).toBe(crc32(bytes));
    }
  });

  it('continues through an empty piece of any kind (zlib alone returns 0 for some)', () => {
    const start = crc32(Buffer.from('123456789'));
    for (const empty of [
      Buffer.alloc(0),
      Buffer.allocUnsafe(0),
      Buffer.allocUnsafe(0).subarray(0, 0),
      Buffer.allocUnsafe(10).subarray(0, 0),
      new Uint8Array(0),
    ]) {
      expect(crc32(empty, start)).toBe(start);
    }
  });
});
