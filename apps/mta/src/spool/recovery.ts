import { type FileHandle, open, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@sterna/core';
import { CHECKPOINT_NAME, type CheckpointState, readCheckpoint } from './checkpoint.js';
import { ioReason, spoolError } from './errors.js';
import { account, SpoolIndex } from './index-entry.js';
import { REMOVE, STORE, UPDATE } from './record.js';
import { RememberedMetas } from './remembered.js';
import { type ScannedRecord, type ScanScratch, scanAll } from './scan.js';
import { newSegment, type Segment, segmentName, segmentNumber } from './segment.js';

/** The state rebuilt from the segments on disk. */
export interface Recovered {
  readonly segments: Map<number, Segment>;
  readonly index: SpoolIndex;
  /** Metadata JSON met while scanning, kept for the first `enumerate()`. */
  readonly metas: RememberedMetas;
  /** The number for the next segment. */
  readonly nextSegment: number;
  /** Whether the index came from a checkpoint instead of a replay of the whole log. */
  readonly fromCheckpoint: boolean;
  /** Bytes of log replayed (after the checkpoint's place, or all of it). */
  readonly replayed: number;
  /** Messages of the checkpoint found removed (their segment deleted since it was written). */
  readonly dropped: number;
}

/**
 * Reads the index checkpoint, when it fits the segments on disk (see `checkpoint.ts`), and replays
 * the log after its place; otherwise replays every segment in order (STORE adds or replaces,
 * UPDATE replaces metadata, REMOVE forgets). A torn tail of the last segment (a record cut short or failing its checksum with no
 * valid record after it, as a crash mid-write leaves) is cut off with a warning. Damage with
 * valid records after it (a failing disk) is skipped with an error diagnostic, and the replay
 * goes on with the next valid record.
 *
 * @throws SternaError `STERNA_SPOOL_READ`
 */
export async function recover(dir: string, logger: Logger): Promise<Recovered> {
  const segments = new Map<number, Segment>();
  const index = new SpoolIndex();
  const metas = new RememberedMetas();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw spoolError('STERNA_SPOOL_READ', `cannot list spool ${dir}: ${ioReason(error)}`, error);
  }
  const numbers = names
    .map(segmentNumber)
    .filter((n): n is number => n !== undefined)
    .sort((a, b) => a - b);
  const nextSegment = (numbers.at(-1) ?? 0) + 1;
  let checkpoint: Awaited<ReturnType<typeof readCheckpoint>>;
  try {
    checkpoint = await readCheckpoint(dir, numbers);
  } catch (error) {
    throw spoolError(
      'STERNA_SPOOL_READ',
      `cannot open the spool segments its index checkpoint names: ${ioReason(error)}`,
      error,
    );
  }
  if (checkpoint !== undefined && 'problem' in checkpoint) {
    logger.warn('spool index checkpoint not used: replaying the whole log', {
      checkpoint: path.join(dir, CHECKPOINT_NAME),
      problem: checkpoint.problem,
    });
  } else if (checkpoint !== undefined) {
    const { after, gone } = checkpoint;
    const last = numbers.at(-1);
    let replayed = 0;
    const scratch: ScanScratch = {};
    // The metadata met is not kept: copying it costs the open more (new memory) than the first
    // enumeration's reads of it cost in the background.
    const sink: Sink = { index: checkpoint.index, metas: checkpoint.metas, remember: false };
    for (const { segment, end } of after) {
      const from = segment.size;
      await replay(segment, from, end, segment.no === last, sink, scratch, logger);
      replayed += segment.size - from;
    }
    const dropped = gone.size > 0 ? dropGone(checkpoint) : 0;
    settle(checkpoint.segments, checkpoint.index);
    return {
      segments: checkpoint.segments,
      index: checkpoint.index,
      metas: checkpoint.metas,
      // Never a number it names again, even one deleted since.
      nextSegment: Math.max(nextSegment, ...[...gone].map((no) => no + 1)),
      fromCheckpoint: true,
      replayed,
      dropped,
    };
  }
  // The metadata met is kept for the first enumeration: in a whole log it lies between the
  // bodies, one read each to fetch again.
  const sink: Sink = { index, metas, remember: true };
  const scratch: ScanScratch = {};
  for (const no of numbers) {
    const file = path.join(dir, segmentName(no));
    let fh: FileHandle;
    let size: number;
    try {
      fh = await open(file, 'r+');
      ({ size } = await fh.stat());
    } catch (error) {
      throw spoolError(
        'STERNA_SPOOL_READ',
        `cannot recover spool segment ${file}: ${ioReason(error)}`,
        error,
      );
    }
    const segment = newSegment(dir, no, fh, 0);
    segment.sealed = true;
    segments.set(no, segment);
    await replay(segment, 0, size, no === numbers.at(-1), sink, scratch, logger);
  }
  let replayed = 0;
  for (const s of segments.values()) replayed += s.size;
  settle(segments, index);
  return { segments, index, metas, nextSegment, fromCheckpoint: false, replayed, dropped: 0 };
}

/**
 * Replays the records of `segment` from `from` to `end` into the index, and sets its size to the
 * end of the last valid one. A torn tail of the log's last segment is cut off; damage elsewhere is
 * reported and skipped.
 */
async function replay(
  segment: Segment,
  from: number,
  end: number,
  last: boolean,
  sink: Sink,
  scratch: ScanScratch,
  logger: Logger,
): Promise<void> {
  const file = segment.path;
  try {
    // Read into the same memory chunk after chunk: `apply` keeps nothing of a record's buffer.
    const visit = (r: ScannedRecord) => apply(segment, r, sink);
    const report = await scanAll(segment.fh, end, visit, from, scratch);
    segment.size = report.end;
    for (const d of report.damage) {
      logger.error('spool segment is damaged: a stretch without valid records was skipped', {
        segment: file,
        ...d,
      });
    }
    if (report.problem !== undefined) {
      const where = { segment: file, offset: report.end, size: end, problem: report.problem };
      if (last) {
        logger.warn('spool segment has a torn tail: cut off', where);
        await segment.fh.truncate(report.end);
        await segment.fh.datasync();
      } else {
        // Older segments were synced whole before the next began: this is damage, kept on
        // disk for inspection until compaction frees the segment.
        logger.error('spool segment is damaged at its end: the rest is ignored', where);
      }
    }
  } catch (error) {
    throw spoolError(
      'STERNA_SPOOL_READ',
      `cannot recover spool segment ${file}: ${ioReason(error)}`,
      error,
    );
  }
}

/**
 * Forgets the messages a checkpoint holds whose data or latest metadata was in a segment deleted
 * since, and not copied forward by a record after its place: they were removed (compaction deletes
 * a segment only once nothing in it is live). Returns how many.
 */
function dropGone({ index, metas, gone }: CheckpointState): number {
  let dropped = 0;
  for (const slot of index.slots()) {
    if (gone.has(index.seg[slot]!) || gone.has(index.mseg[slot]!)) {
      metas.forget(slot);
      index.deleteSlot(slot);
      dropped++;
    }
  }
  return dropped;
}

/** Counts each segment's live bytes, and the removal records still needed. */
function settle(segments: Map<number, Segment>, index: SpoolIndex): void {
  for (const slot of index.slots()) account(segments, index, slot, 1);
  // Removal records count only while the segment they point at still exists.
  for (const s of segments.values()) {
    for (const target of s.removeTargets.keys()) {
      if (target === s.no || !segments.has(target)) s.removeTargets.delete(target);
    }
  }
}

/** Where a replay puts what it meets; `remember`: whether to keep a copy of the metadata. */
interface Sink {
  readonly index: SpoolIndex;
  readonly metas: RememberedMetas;
  readonly remember: boolean;
}

function apply(segment: Segment, r: ScannedRecord, { index, metas, remember }: Sink): void {
  if (r.type === STORE) {
    // A second STORE of an id is a compaction copy: it carries the latest metadata too.
    const slot = index.setAt(r.buffer, r.idAt, segment.no, r.offset, r.metaLength, r.dataLength);
    if (remember) metas.remember(slot, r.buffer, r.metaStart, r.metaStart + r.metaLength);
    else metas.forget(slot); // what a checkpoint's chunk had for it is older
  } else if (r.type === UPDATE) {
    const slot = index.slotAt(r.buffer, r.idAt);
    if (slot === undefined) return; // its STORE was compacted away after a REMOVE
    index.mseg[slot] = segment.no;
    index.moff[slot] = r.offset;
    index.mlen[slot] = r.metaLength;
    if (remember) metas.remember(slot, r.buffer, r.metaStart, r.metaStart + r.metaLength);
    else metas.forget(slot);
  } else if (r.type === REMOVE) {
    const slot = index.slotAt(r.buffer, r.idAt);
    if (slot !== undefined) {
      metas.forget(slot);
      index.deleteSlot(slot);
    }
    const target = removeTarget(r.meta);
    if (target !== undefined) {
      segment.removeTargets.set(target, (segment.removeTargets.get(target) ?? 0) + r.length);
    }
  }
}

/** The segment a REMOVE record's meta names. */
export function removeTarget(meta: Uint8Array): number | undefined {
  try {
    const { segment } = JSON.parse(Buffer.from(meta).toString('utf8')) as { segment?: unknown };
    return typeof segment === 'number' ? segment : undefined;
  } catch {
    return undefined;
  }
}
