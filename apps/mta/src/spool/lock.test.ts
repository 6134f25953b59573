import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
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

  it('lets exactly one of many racing opens take over a stale lock', async () => {
    await writeFile(path.join(dir, LOCK_NAME), `${await deadPid()}\n`);
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => acquireLock(dir, recordingLogger())),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'STERNA_SPOOL_LOCKED' });
    }
    expect(await readFile(path.join(dir, LOCK_NAME), 'utf8')).toBe(`${process.pid}\n`);
    await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
    expect(await readdir(dir)).toEqual([]); // no temporary file or takeover mutex left
  });

  it('clears a takeover mutex left by an opener that died', async () => {
    await writeFile(path.join(dir, LOCK_NAME), `${await deadPid()}\n`);
    const mutex = path.join(dir, `${LOCK_NAME}.takeover`);
    await mkdir(mutex);
    const old = new Date(Date.now() - 60_000);
    await utimes(mutex, old, old);
    const lock = await acquireLock(dir, recordingLogger());
    await lock.release();
    expect(await readdir(dir)).toEqual([]);
  });
});
