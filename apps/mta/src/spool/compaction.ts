import type { FileHandle } from 'node:fs/promises';
import { unlink } from 'node:fs/promises';
import type { Logger } from '@sterna/core';
import { account, type SpoolIndex } from './index-entry.js';
import type { LogWriter } from './log-writer.js';
import { encodeRecord, REMOVE, STORE, UPDATE } from './record.js';
import { removeTarget } from './recovery.js';
import { type ScannedRecord, scanAll } from './scan.js';
import { forgetTarget, noteRemoval, removalBytes, type Segment } from './segment.js';

/** The spool state compaction works on. */
export interface CompactionHost {
  readonly segments: Map<number, Segment>;
  readonly index: SpoolIndex;
  readonly writer: LogWriter;
  readonly dirHandle: FileHandle;
  readonly logger: Logger;
  /** True once the spool is closing: compaction stops between records. */
  readonly stopping: boolean;
  /** The latest metadata JSON of the message in `slot` (queued, remembered or read from disk). */
  metaOf(slot: number): Promise<Uint8Array>;
  /** Queues a lazy REMOVE record for `id`, whose data is in segment `target`. */
  queueRemove(id: string, target: number): void;
}

// Copies are written in rounds of about this many bytes, each awaited, so that stores keep
// sharing syncs with compaction instead of waiting behind one huge write.
const ROUND_BYTES = 1 << 20;

/**
 * Frees a sealed segment: copies its live records (current data and latest metadata of spooled
 * messages, and removals that still hide a STORE elsewhere) to the end of the log, waits until
 * they are durable, then deletes the file and syncs the directory. Returns false when the
 * segment had to be kept.
 */
export async function compactSegment(host: CompactionHost, segment: Segment): Promise<boolean> {
  if (segment.live > 0 || removalBytes(segment) > 0) {
    let round: Promise<void>[] = [];
    let roundBytes = 0;
    const end = await scanAll(segment.fh, segment.size, async (r) => {
      if (host.stopping) throw new Error('spool closing');
      const copy = await copyOf(host, segment, r);
      if (copy === undefined) return;
      copy.promise.catch(() => {}); // awaited below; this keeps a failure seen if we stop early
      round.push(copy.promise);
      roundBytes += copy.bytes;
      if (roundBytes >= ROUND_BYTES) {
        await Promise.all(round);
        round = [];
        roundBytes = 0;
      }
    });
    await Promise.all(round);
    await host.writer.flush(); // removals queued by the copies' bookkeeping
    // Damaged stretches hold nothing the index points at (recovery skipped them too): once
    // every live record is copied the segment can go, damage and all.
    if (end.problem !== undefined || end.damage.length > 0) {
      host.logger.warn('spool compaction freed a damaged segment', {
        segment: segment.path,
        damage: end.damage,
        end: end.end,
        problem: end.problem,
      });
    }
  }
  if (segment.live !== 0) {
    host.logger.warn('spool segment still has live records after compaction: kept', {
      segment: segment.path,
      live: segment.live,
    });
    return false;
  }
  await unlink(segment.path);
  // The unlink must be durable before removals pointing here are dropped from other segments.
  await host.dirHandle.sync();
  host.segments.delete(segment.no);
  forgetTarget(host.segments, segment.no);
  segment.deleted = true;
  if (segment.readers === 0) await segment.fh.close().catch(() => {});
  return true;
}

/** Queues the copy of one record if it is live; undefined when it is dead. */
async function copyOf(
  host: CompactionHost,
  segment: Segment,
  r: ScannedRecord,
): Promise<{ promise: Promise<void>; bytes: number } | undefined> {
  const { index, segments, writer } = host;
  const slot = index.slot(r.id);
  if (
    r.type === STORE &&
    slot !== undefined &&
    index.seg[slot] === segment.no &&
    index.off[slot] === r.offset
  ) {
    const born = index.born[slot]!;
    // The copy carries the latest metadata; re-read it if an update overtook the read.
    let meta: Uint8Array = r.meta;
    let version = -1;
    for (let tries = 0; version !== index.version[slot]; tries++) {
      if (tries === 5) return undefined; // updated faster than read: left live, tried again later
      version = index.version[slot]!;
      const inRecord =
        index.mseg[slot] === segment.no &&
        index.moff[slot] === r.offset &&
        !index.pending.has(slot);
      meta = inRecord ? r.meta : await host.metaOf(slot);
      if (!index.is(r.id, slot, born)) return undefined;
    }
    const data = r.data;
    const head = encodeRecord(STORE, r.id, meta, data);
    const promise = writer.append([head, data], head.length + data.length, true, (seg, off) => {
      if (!index.is(r.id, slot, born)) {
        host.queueRemove(r.id, seg.no); // removed while being copied
        return;
      }
      if (index.seg[slot] !== segment.no || index.off[slot] !== r.offset) return;
      account(segments, index, slot, -1);
      index.seg[slot] = seg.no;
      index.off[slot] = off;
      index.storeMeta[slot] = meta.length;
      if (index.version[slot] === version) {
        index.mseg[slot] = seg.no;
        index.moff[slot] = off;
        index.mlen[slot] = meta.length;
      }
      account(segments, index, slot, 1);
    });
    return { promise, bytes: head.length + data.length };
  }
  if (
    r.type === UPDATE &&
    slot !== undefined &&
    index.mseg[slot] === segment.no &&
    index.moff[slot] === r.offset
  ) {
    const born = index.born[slot]!;
    const version = index.version[slot]!;
    const meta = index.pending.get(slot) ?? r.meta;
    const head = encodeRecord(UPDATE, r.id, meta);
    const promise = writer.append([head], head.length, true, (seg, off) => {
      if (!index.is(r.id, slot, born) || index.version[slot] !== version) return;
      if (index.mseg[slot] !== segment.no || index.moff[slot] !== r.offset) return;
      account(segments, index, slot, -1);
      index.mseg[slot] = seg.no;
      index.moff[slot] = off;
      index.mlen[slot] = meta.length;
      account(segments, index, slot, 1);
    });
    return { promise, bytes: head.length };
  }
  if (r.type === REMOVE) {
    const target = removeTarget(r.meta);
    if (target === undefined || !segment.removeTargets.has(target)) return undefined;
    const head = encodeRecord(REMOVE, r.id, r.meta);
    const promise = writer.append([head], head.length, true, (seg) => {
      noteRemoval(segments, seg, target, head.length);
    });
    return { promise, bytes: head.length };
  }
  return undefined;
}

/** True when `segment` is sealed and its live share is below `threshold`, or nothing in it is. */
export function worthCompacting(segment: Segment, threshold: number): boolean {
  if (!segment.sealed || segment.deleted || segment.retryAfter > Date.now()) return false;
  const needed = segment.live + removalBytes(segment);
  return needed === 0 || needed / segment.size < threshold;
}

/** The sealed segment with the smallest live share below `threshold`, if any. */
export function pickSegment(
  segments: ReadonlyMap<number, Segment>,
  threshold: number,
): Segment | undefined {
  let best: Segment | undefined;
  let bestRatio = Number.POSITIVE_INFINITY;
  for (const s of segments.values()) {
    if (!worthCompacting(s, threshold)) continue;
    const ratio = s.size === 0 ? 0 : (s.live + removalBytes(s)) / s.size;
    if (ratio < bestRatio) {
      best = s;
      bestRatio = ratio;
    }
  }
  return best;
}
