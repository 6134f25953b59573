import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLocalLogsConfig } from './config.js';
import { checkLogSpace } from './space.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sterna-logs-space-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('checkLogSpace', () => {
  it('measures the file system of log_dir against the floors', async () => {
    const easy = await checkLogSpace(
      parseLocalLogsConfig({ log_dir: dir, min_free_space: '0%', min_free_inodes: 0 }),
    );
    expect(easy.ok).toBe(true);
    expect(easy.totalBytes).toBeGreaterThan(0);
    expect(easy.freeBytes).toBeLessThanOrEqual(easy.totalBytes);
    const impossible = await checkLogSpace(
      parseLocalLogsConfig({ log_dir: dir, min_free_space: easy.totalBytes + 1 }),
    );
    expect(impossible.ok).toBe(false);
  });
});
