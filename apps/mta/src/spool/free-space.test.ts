import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isSternaError } from '@sterna/core';
import { describe, expect, it } from 'vitest';
import { parseThreshold, SpaceGuard } from './free-space.js';

describe('parseThreshold', () => {
  it('reads percentages, numbers and amounts with units', () => {
    expect(parseThreshold('10%', 'x')).toEqual({ percent: 10 });
    expect(parseThreshold('2.5 %', 'x')).toEqual({ percent: 2.5 });
    expect(parseThreshold(1000, 'x')).toEqual({ amount: 1000 });
    expect(parseThreshold('1000', 'x')).toEqual({ amount: 1000 });
    expect(parseThreshold('500MB', 'x')).toEqual({ amount: 500e6 });
    expect(parseThreshold('2GiB', 'x')).toEqual({ amount: 2 * 2 ** 30 });
  });

  it('refuses anything else, naming the option', () => {
    for (const bad of ['101%', '-1', 'lots', '5 parsecs', '', -3, Number.NaN]) {
      let error: unknown;
      try {
        parseThreshold(bad, 'minFreeSpace');
      } catch (e) {
        error = e;
      }
      expect(isSternaError(error, 'STERNA_SPOOL_OPTIONS_INVALID')).toBe(true);
      expect((error as Error).message).toContain('minFreeSpace');
    }
  });
});

describe('SpaceGuard', () => {
  it('refuses below the minimum and allows above it, on the real filesystem', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sterna-space-'));
    try {
      const full = new SpaceGuard(dir, { percent: 100 }, { percent: 0 });
      await expect(full.reserve(1)).rejects.toMatchObject({ code: 'STERNA_SPOOL_FULL' });
      const inodes = new SpaceGuard(dir, { percent: 0 }, { percent: 100 });
      await expect(inodes.reserve(1)).rejects.toMatchObject({ code: 'STERNA_SPOOL_FULL' });
      const roomy = new SpaceGuard(dir, { amount: 0 }, { amount: 0 });
      await expect(roomy.reserve(4096)).resolves.toBeUndefined();
      // Bytes written since the last statfs count against the reading.
      await expect(roomy.reserve(Number.MAX_SAFE_INTEGER)).rejects.toMatchObject({
        code: 'STERNA_SPOOL_FULL',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails with a write error when the directory is gone', async () => {
    const guard = new SpaceGuard('/nonexistent/sterna-spool', { amount: 0 }, { amount: 0 });
    await expect(guard.reserve(1)).rejects.toMatchObject({ code: 'STERNA_SPOOL_WRITE' });
  });
});
