import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rmdir, stat, unlink } from 'node:fs/promises';
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
 * pid is not running (or is this process's pid without this process holding it, as after a
 * container restart) is stale and taken over, with a warning.
 *
 * @throws SternaError `STERNA_SPOOL_LOCKED`, `STERNA_SPOOL_WRITE`
 */
export async function acquireLock(dir: string, logger: Logger): Promise<SpoolLock> {
  const file = path.resolve(dir, LOCK_NAME);
  const tmp = path.join(dir, `.${LOCK_NAME}.${unique()}`);
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
        held.add(file); // at once: another open in this process must see it held
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 200) throw error;
      }
      const owner = await readOwner(file);
      if (!isStale(file, owner)) {
        throw spoolError(
          'STERNA_SPOOL_LOCKED',
          `spool ${dir} is in use by process ${owner} (lock file ${file})`,
        );
      }
      await removeStale(file, owner, logger);
    }
  } catch (error) {
    if ((error as { code?: unknown }).code === 'STERNA_SPOOL_LOCKED') throw error;
    throw spoolError('STERNA_SPOOL_WRITE', `cannot lock spool ${dir}: ${ioReason(error)}`, error);
  } finally {
    await unlink(tmp).catch(() => {});
  }
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

function isStale(file: string, owner: number | undefined): boolean {
  if (owner === undefined) return true;
  if (owner === process.pid) return !held.has(file);
  return !isRunning(owner);
}

// A takeover directory older than this was left by a process that died while taking over.
const TAKEOVER_STALE_MS = 5000;

/**
 * Deletes a stale lock under a takeover mutex (a directory: `mkdir` is atomic), checking again
 * under the mutex that the lock is still the stale one judged. Without the mutex, two daemons
 * could both judge the old lock stale and one delete the lock the other just took.
 */
async function removeStale(file: string, owner: number | undefined, logger: Logger) {
  const mutex = `${file}.takeover`;
  try {
    await mkdir(mutex);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const age = await stat(mutex).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > TAKEOVER_STALE_MS) await rmdir(mutex).catch(() => {});
    else await new Promise((r) => setTimeout(r, 10)); // another opener is taking over
    return;
  }
  try {
    const now = await readOwner(file);
    if (now === owner && isStale(file, now)) {
      logger.warn('spool lock is stale: taking it over', { file, owner: owner ?? 'unreadable' });
      await unlink(file).catch(() => {});
    }
  } finally {
    await rmdir(mutex).catch(() => {});
  }
}

let counter = 0;

/** A name part no other attempt, in this process or another, uses. */
function unique(): string {
  return `${process.pid}.${++counter}.${randomBytes(4).toString('hex')}`;
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
