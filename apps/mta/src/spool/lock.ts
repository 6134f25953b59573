import { link, open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@sterna/core';
import { ioReason, spoolError } from './errors.js';

/** The lock file's name inside the data directory. */
export const LOCK_NAME = 'spool.lock';

// Locks this process holds: its own pid in a lock file means "held" only if listed here (a
// restarted daemon in a container often gets the same pid as the one that crashed).
const held = new Set<string>();

/** A held spool lock. */
export interface SpoolLock {
  /** Deletes the lock file; idempotent. */
  release(): Promise<void>;
}

/**
 * Takes the spool's lock: a file holding the owner's pid, created atomically (written under a
 * temporary name, then hard-linked into place, which fails if the lock exists). A lock whose
 * pid is not running is stale and taken over, with a warning.
 *
 * @throws SternaError `STERNA_SPOOL_LOCKED`, `STERNA_SPOOL_WRITE`
 */
export async function acquireLock(dir: string, logger: Logger): Promise<SpoolLock> {
  const file = path.resolve(dir, LOCK_NAME);
  const tmp = path.join(dir, `.${LOCK_NAME}.${process.pid}.${Date.now()}`);
  try {
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(`${process.pid}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    for (let attempt = 0; ; attempt++) {
      try {
        await link(tmp, file);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 2) throw error;
      }
      const owner = await readOwner(file);
      if (owner !== undefined && isRunning(owner) && !(owner === process.pid && !held.has(file))) {
        throw spoolError(
          'STERNA_SPOOL_LOCKED',
          `spool ${dir} is in use by process ${owner} (lock file ${file})`,
        );
      }
      logger.warn('spool lock is stale: taking it over', { file, owner: owner ?? 'unreadable' });
      await unlink(file).catch(() => {});
    }
  } catch (error) {
    if ((error as { code?: unknown }).code === 'STERNA_SPOOL_LOCKED') throw error;
    throw spoolError('STERNA_SPOOL_WRITE', `cannot lock spool ${dir}: ${ioReason(error)}`, error);
  } finally {
    await unlink(tmp).catch(() => {});
  }
  held.add(file);
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      held.delete(file);
      await unlink(file).catch(() => {});
    },
  };
}

async function readOwner(file: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await readFile(file, 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
