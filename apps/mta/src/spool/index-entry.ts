import { HEADER_SIZE } from './record.js';
import type { Segment } from './segment.js';

/**
 * What the spool keeps in memory per message: where its data record and its latest metadata
 * record are, and the data size. Sender, recipients and meta stay on disk (they are read at
 * startup by `enumerate()`), so a message costs about 200 bytes of heap.
 */
export interface IndexEntry {
  /** Segment and offset of the STORE record holding the data. */
  seg: number;
  off: number;
  /** Meta length inside that STORE record (its length is HEADER + this + size). */
  storeMeta: number;
  /** Data bytes. */
  readonly size: number;
  /** Segment and offset of the record holding the latest durable metadata. */
  mseg: number;
  moff: number;
  /** Length of that metadata JSON. */
  mlen: number;
  /** Bumped by every `update()`, so late bookkeeping can tell it was overtaken. */
  version: number;
  /** Metadata queued by `update()` but not yet written. */
  pending: Buffer | undefined;
}

/** Adds (`sign` 1) or takes away (-1) the bytes of the records `entry` keeps alive. */
export function account(
  segments: ReadonlyMap<number, Segment>,
  entry: IndexEntry,
  sign: 1 | -1,
): void {
  const dataRecord = HEADER_SIZE + entry.storeMeta + entry.size;
  const data = segments.get(entry.seg);
  if (data) data.live += sign * dataRecord;
  if (entry.mseg !== entry.seg || entry.moff !== entry.off) {
    const meta = segments.get(entry.mseg);
    if (meta) meta.live += sign * (HEADER_SIZE + entry.mlen);
  }
}
