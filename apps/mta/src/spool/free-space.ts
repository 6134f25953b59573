import { statfs } from 'node:fs/promises';
import { ioReason, spoolError } from './errors.js';

/** A minimum: a share of the filesystem's total, or an absolute amount. */
export type Threshold = { readonly percent: number } | { readonly amount: number };

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/**
 * Reads KumoMTA's `min_free_space`/`min_free_inodes`: `'10%'`, a number, or a number with a
 * unit (`'500MB'`, `'2GiB'`).
 *
 * @throws SternaError `STERNA_SPOOL_OPTIONS_INVALID`
 */
export function parseThreshold(value: string | number, name: string): Threshold {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return { amount: value };
  } else {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(%|[a-z]*)\s*$/i.exec(value);
    const n = Number(m?.[1]);
    const unit = m?.[2]?.toLowerCase() ?? '';
    if (m && unit === '%' && n <= 100) return { percent: n };
    if (m && unit in UNITS) return { amount: n * UNITS[unit]! };
  }
  throw spoolError(
    'STERNA_SPOOL_OPTIONS_INVALID',
    `${name}: expected a percentage ('10%') or an amount (1000000, '500MB'), got ${JSON.stringify(value)}`,
  );
}

function required(t: Threshold, total: number): number {
  return 'percent' in t ? (total * t.percent) / 100 : t.amount;
}

const STALE_MS = 1000;
const FULL_RETRY_MS = 100;

/**
 * Refuses stores when the spool's filesystem runs low. `statfs` runs at most once a second
 * (ten times a second while full, so the spool notices space coming back); between calls the
 * bytes written are subtracted from the last reading.
 */
export class SpaceGuard {
  private freeBytes = 0;
  private freeInodes = 0;
  private needBytes = 0;
  private needInodes = 0;
  private at = Number.NEGATIVE_INFINITY;
  private written = 0;
  private pending: Promise<void> | undefined;

  constructor(
    private readonly dir: string,
    private readonly minSpace: Threshold,
    private readonly minInodes: Threshold,
  ) {}

  /**
   * Resolves when `bytes` more can be written without going below the minimums.
   *
   * @throws SternaError `STERNA_SPOOL_FULL`, `STERNA_SPOOL_WRITE` when `statfs` fails
   */
  async reserve(bytes: number): Promise<void> {
    const age = Date.now() - this.at;
    if (age > STALE_MS || (this.isFull(bytes) && age > FULL_RETRY_MS)) await this.refresh();
    if (this.isFull(bytes)) {
      const freeMb = Math.max(0, this.freeBytes - this.written) / 1e6;
      throw spoolError(
        'STERNA_SPOOL_FULL',
        `spool disk is too full: ${freeMb.toFixed(1)} MB and ${this.freeInodes} inodes free under ${this.dir}, minimum ${(this.needBytes / 1e6).toFixed(1)} MB and ${Math.ceil(this.needInodes)} inodes`,
      );
    }
    this.written += bytes;
  }

  /**
   * Drops the last reading: the next store reads the filesystem again. For space the spool freed
   * itself (a compacted segment deleted), which would otherwise go unnoticed while the reading is
   * recent, refusing stores for up to a tenth of a second with the space already back.
   */
  forget(): void {
    this.at = Number.NEGATIVE_INFINITY;
  }

  private isFull(bytes: number): boolean {
    return (
      this.freeBytes - this.written - bytes < this.needBytes ||
      (this.needInodes > 0 && this.freeInodes < this.needInodes)
    );
  }

  private refresh(): Promise<void> {
    this.pending ??= (async () => {
      try {
        const s = await statfs(this.dir);
        this.freeBytes = s.bavail * s.bsize;
        this.needBytes = required(this.minSpace, s.blocks * s.bsize);
        // Some filesystems report no inode counts at all (files = 0): nothing to check then.
        this.freeInodes = s.ffree;
        this.needInodes = s.files > 0 ? required(this.minInodes, s.files) : 0;
        this.written = 0;
        this.at = Date.now();
      } catch (error) {
        throw spoolError(
          'STERNA_SPOOL_WRITE',
          `cannot read free space under ${this.dir}: ${ioReason(error)}`,
          error,
        );
      } finally {
        this.pending = undefined;
      }
    })();
    return this.pending;
  }
}
