import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';

/** One file of the segment log, as the spool tracks it. */
export interface Segment {
  /** Sequence number: log order is (segment number, offset). */
  readonly no: number;
  readonly path: string;
  readonly fh: FileHandle;
  /** Bytes written (and, once a batch's sync has returned, durable). */
  size: number;
  /** Bytes of records still needed: current data or metadata of a spooled message. */
  live: number;
  /** No more appends: full, from a previous run, or after a write error. */
  sealed: boolean;
  /**
   * Bytes of REMOVE records here that still hide a STORE in another existing segment, by that
   * segment's number. They are live too: dropping them could resurrect removed messages.
   */
  readonly removeTargets: Map<number, number>;
  /** Reads in flight; the handle is closed only when none remain. */
  readers: number;
  /** Unlinked: close the handle when the last reader is done. */
  deleted: boolean;
  /** Epoch ms before which compaction leaves it alone (after it had to be kept). */
  retryAfter: number;
}

const NAME = /^(\d{16})\.seg$/;

/** The file name of segment `no`. */
export function segmentName(no: number): string {
  return `${String(no).padStart(16, '0')}.seg`;
}

/** The segment number of a file name, or undefined for other files. */
export function segmentNumber(name: string): number | undefined {
  const m = NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** A tracked segment for an open handle. */
export function newSegment(dir: string, no: number, fh: FileHandle, size: number): Segment {
  return {
    no,
    path: path.join(dir, segmentName(no)),
    fh,
    size,
    live: 0,
    sealed: false,
    removeTargets: new Map(),
    readers: 0,
    deleted: false,
    retryAfter: 0,
  };
}

/** Closes a deleted segment's handle once no read uses it. */
export function releaseReader(segment: Segment): void {
  segment.readers--;
  if (segment.deleted && segment.readers === 0) void segment.fh.close().catch(() => {});
}

/** Bytes of REMOVE records in `segment` still needed. */
export function removalBytes(segment: Segment): number {
  let n = 0;
  for (const bytes of segment.removeTargets.values()) n += bytes;
  return n;
}

/** Counts a REMOVE record written to `segment` if it hides a STORE in another segment. */
export function noteRemoval(
  segments: ReadonlyMap<number, Segment>,
  segment: Segment,
  target: number,
  bytes: number,
): void {
  if (target === segment.no || !segments.has(target)) return;
  segment.removeTargets.set(target, (segment.removeTargets.get(target) ?? 0) + bytes);
}

/** Segment `no` is gone: REMOVE records pointing at it are no longer needed. */
export function forgetTarget(segments: ReadonlyMap<number, Segment>, no: number): void {
  for (const s of segments.values()) s.removeTargets.delete(no);
}
