import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { errorText, type Logger } from '@sterna/core';
import { markReadOnly } from './segment.js';

/**
 * Creates `dir` if needed and marks every file in it read-only, as KumoMTA does when its
 * logger starts: a segment still writable was left by a process that stopped without
 * finishing it, and no one will append to it again. Dot files are left alone. A file that
 * cannot be changed is reported, not fatal.
 *
 * @returns how many files were changed.
 */
export async function markExistingSegments(dir: string, logger: Logger): Promise<number> {
  await mkdir(dir, { recursive: true });
  let marked = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || !entry.isFile()) continue;
    try {
      if (await markReadOnly(join(dir, entry.name))) marked++;
    } catch (error) {
      logger.warn('cannot mark log segment read-only', {
        path: join(dir, entry.name),
        error: errorText(error),
      });
    }
  }
  return marked;
}
