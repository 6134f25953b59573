import { statfs } from 'node:fs/promises';
import type { LocalLogsConfig, MinFree } from './config.js';

/** Free space of the file system holding `log_dir`, against `min_free_space`/`min_free_inodes`. */
export interface LogSpace {
  /** False when either floor is not met: KumoMTA then refuses new messages (SMTP and HTTP). */
  readonly ok: boolean;
  /** Bytes available to the daemon. */
  readonly freeBytes: number;
  readonly totalBytes: number;
  /** Free inodes; 0 of 0 on file systems that do not count inodes (then always ok). */
  readonly freeInodes: number;
  readonly totalInodes: number;
}

function meets(floor: MinFree, free: number, total: number): boolean {
  if ('absolute' in floor) return free >= floor.absolute;
  return total === 0 || (free / total) * 100 >= floor.percent;
}

/**
 * Measures the log file system. The writer does not act on it; the daemon calls it (as it
 * does for the spool) to answer 4xx and report "not ready" while logs cannot be written.
 */
export async function checkLogSpace(config: LocalLogsConfig): Promise<LogSpace> {
  const fs = await statfs(config.logDir);
  const freeBytes = fs.bavail * fs.bsize;
  const totalBytes = fs.blocks * fs.bsize;
  const ok =
    meets(config.minFreeSpace, freeBytes, totalBytes) &&
    (fs.files === 0 || meets(config.minFreeInodes, fs.ffree, fs.files));
  return { ok, freeBytes, totalBytes, freeInodes: fs.ffree, totalInodes: fs.files };
}
