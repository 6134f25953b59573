import { describe, expect, it } from 'vitest';
import { isSpoolId, newSpoolId, spoolIdTime } from './spool-id.js';

describe('spool ids', () => {
  it('are 32 lowercase hex characters of a v1 UUID carrying the creation time', () => {
    const now = Date.UTC(2026, 10, 28, 2, 5, 31, 123);
    const id = newSpoolId(now);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(id[12]).toBe('1');
    expect(isSpoolId(id)).toBe(true);
    expect(spoolIdTime(id)).toBe(now);
  });

  it('are unique within one millisecond', () => {
    const ids = new Set(Array.from({ length: 50_000 }, () => newSpoolId(1_000)));
    expect(ids.size).toBe(50_000);
  });

  it('reads the time back from a standard v1 UUID', () => {
    // 6ba7b810-9dad-11d1-80b4-00c04fd430c8, the RFC 4122 example namespace id: 1998-02-04T22:13:53.151Z.
    expect(new Date(spoolIdTime('6ba7b8109dad11d180b400c04fd430c8')).toISOString()).toBe(
      '1998-02-04T22:13:53.151Z',
    );
  });

  it('refuses what is not a spool id', () => {
    expect(isSpoolId('D6A2E9CA7B0D11EEB0E10242AC110002')).toBe(false);
    expect(() => spoolIdTime('nope')).toThrow(/not a spool id/);
  });

  it('reads the same time as exact BigInt arithmetic, before and after 1970', () => {
    const exact = (id: string): number => {
      const ticks =
        (BigInt(`0x${id.slice(13, 16)}`) << 48n) |
        (BigInt(`0x${id.slice(8, 12)}`) << 32n) |
        BigInt(`0x${id.slice(0, 8)}`);
      return Number((ticks - 0x01b21dd213814000n) / 10_000n);
    };
    const ids = ['6ba7b8109dad11d180b400c04fd430c8', '00000000000010008000000000000001'];
    const times = [0, 1, 9_999, 1_700_000_000_000, 1_764_748_800_123, 4_102_444_800_000];
    for (let i = 0; i < 2000; i++) times.push(Math.floor(Math.random() * 4_102_444_800_000));
    // Ascending: newSpoolId never goes back in time within a process.
    for (const time of times.sort((a, b) => a - b)) ids.push(newSpoolId(time));
    for (const id of ids) expect(spoolIdTime(id)).toBe(exact(id));
    expect(spoolIdTime('00000000000010008000000000000001')).toBeLessThan(0);
  });
});
