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
});
