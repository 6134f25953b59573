import { open, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@sterna/core';
import { CHECKPOINT_NAME, readCheckpoint } from './checkpoint.js';
import { ioReason, spoolError } from './errors.js';
import { account, SpoolIndex } from './index-entry.js';
import { REMOVE, STORE, UPDATE } from './record.js';
import { RememberedMetas } from './remembered.js';
import { type ScannedRecord, scanAll } from './scan.js';
import { newSegment, type Segment, segmentName, segmentNumber } from './segment.js';

/** The state rebuilt from the segments on disk. */
export interface Recovered {
  readonly segments: Map<number, Segment>;
  readonly index: SpoolIndex;
  /** Metadata JSON met while scanning, kept for the first `enumerate()`. */
  readonly metas: RememberedMetas;
  /** The number for the next segment. */
  readonly nextSegment: number;
  /** Whether the index came from the checkpoint of a clean stop instead of a replay. */
  readonly fromCheckpoint: boolean;
}

/**
 * Reads the index checkpoint a clean stop left, when it matches the segments on disk (see
 * `checkpoint.ts`); otherwise replays every segment in order (STORE adds or replaces, UPDATE replaces metadata, REMOVE
 * forgets). A torn tail of the last segment (a record cut short or failing its checksum with no
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
    settle(checkpoint.segments, checkpoint.index);
    return { ...checkpoint, nextSegment, fromCheckpoint: true };
  }
  for (const [i, no] of numbers.entries()) {
    const file = path.join(dir, segmentName(no));
    let segment: Segment;
    try {
      const fh = await open(file, 'r+');
      segment = newSegment(dir, no, fh, 0);
      segment.sealed = true;
      segments.set(no, segment);
      const { size } = await fh.stat();
      const report = await scanAll(fh, size, (r) => apply(segment, r, index, metas));
      segment.size = report.end;
      for (const d of report.damage) {
        logger.error('spool segment is damaged: a stretch without valid records was skipped', {
          segment: file,
          ...d,
        });
      }
      if (report.problem !== undefined) {
        const where = { segment: file, offset: report.end, size, problem: report.problem };
        if (i === numbers.length - 1) {
          logger.warn('spool segment has a torn tail: cut off', where);
          await fh.truncate(report.end);
          await fh.datasync();
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
  settle(segments, index);
  return { segments, index, metas, nextSegment, fromCheckpoint: false };
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

function apply(
  segment: Segment,
  r: ScannedRecord,
  index: SpoolIndex,
  metas: RememberedMetas,
): void {
  if (r.type === STORE) {
    // A second STORE of an id is a compaction copy: it carries the latest metadata too.
    const slot = index.setAt(r.buffer, r.idAt, segment.no, r.offset, r.metaLength, r.dataLength);
    metas.remember(slot, r.buffer, r.metaStart, r.metaStart + r.metaLength);
  } else if (r.type === UPDATE) {
    const slot = index.slotAt(r.buffer, r.idAt);
    if (slot === undefined) return; // its STORE was compacted away after a REMOVE
    index.mseg[slot] = segment.no;
    index.moff[slot] = r.offset;
    index.mlen[slot] = r.metaLength;
    metas.remember(slot, r.buffer, r.metaStart, r.metaStart + r.metaLength);
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
