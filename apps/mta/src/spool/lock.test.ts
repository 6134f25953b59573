import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from '@sterna/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, LOCK_NAME } from './lock.js';

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, error() {}, warn: (m) => warnings.push(m) };
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}

describe('spool lock', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sterna-lock-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('holds the pid, refuses a second holder, and releases', async () => {
    const log = recordingLogger();
    const lock = await acquireLock(dir, log);
    expect(await readFile(path.join(dir, LOCK_NAME), 'utf8')).toBe(`${process.pid}\n`);
    await expect(acquireLock(dir, log)).rejects.toMatchObject({ code: 'STERNA_SPOOL_LOCKED' });
    await lock.release();
    await lock.release();
    await expect(stat(path.join(dir, LOCK_NAME))).rejects.toMatchObject({ code: 'ENOENT' });
    const again = await acquireLock(dir, log);
    await again.release();
    expect(log.warnings).toEqual([]);
  });

  it('refuses a lock held by another live process', async () => {
    await writeFile(path.join(dir, LOCK_NAME), `${process.ppid}\n`);
    await expect(acquireLock(dir, recordingLogger())).rejects.toThrow(
      new RegExp(`in use by process ${process.ppid}`),
    );
  });

  it('takes over a lock whose process is gone, or that is unreadable, with a warning', async () => {
    for (const content of [`${await deadPid()}\n`, 'garbage', `${process.pid}\n`]) {
      await writeFile(path.join(dir, LOCK_NAME), content);
      const log = recordingLogger();
      const lock = await acquireLock(dir, log);
      expect(log.warnings).toEqual(['spool lock is stale: taking it over']);
      expect(await readFile(path.join(dir, LOCK_NAME), 'utf8')).toBe(`${process.pid}\n`);
      await lock.release();
    }
  });
});
