import { newSpoolId, spoolIdTime } from '@sterna/core/engine';
import { describe, expect, it } from 'vitest';
import { createdOf } from './created.js';

describe('the creation time of a spooled message, as a restart reads it', () => {
  it('is the time spoolIdTime reads from the id', () => {
    const times = [0, 1, 9_999, 1_700_000_000_000, 1_764_748_800_123, 4_102_444_800_000];
    for (let i = 0; i < 2000; i++) times.push(Math.floor(Math.random() * 4_102_444_800_000));
    // Ascending: newSpoolId never goes back in time within a process.
    for (const time of times.sort((a, b) => a - b)) {
      const id = newSpoolId(time);
      expect(createdOf(id)).toBe(spoolIdTime(id));
      expect(Math.abs(createdOf(id) - time)).toBeLessThanOrEqual(1);
    }
  });

  it('refuses what is not a spool id, as spoolIdTime does', () => {
    expect(() => createdOf('not-an-id')).toThrow(/not a spool id/);
  });
});
