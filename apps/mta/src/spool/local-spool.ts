import { read } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { type Logger, silentLogger } from '@sterna/core';
import { assertSpoolId } from '@sterna/core/engine';
import { CHECKPOINT_NAME, discardCheckpoint, scratchFor, writeCheckpoint } from './checkpoint.js';
import { compactSegment, pickSegment, worthCompacting } from './compaction.js';
import { ioReason, spoolError } from './errors.js';
import { parseThreshold, SpaceGuard } from './free-space.js';
import { account, type SpoolIndex } from './index-entry.js';
import { acquireLock, type SpoolLock } from './lock.js';
import { LogWriter } from './log-writer.js';
import { makeDir } from './make-dir.js';
import { decodeMeta, encodeMeta, type MetaCache } from './meta-codec.js';
import {
  checksumMatches,
  decodeHeader,
  encodeRecord,
  HEADER_SIZE,
  REMOVE,
  STORE,
  UPDATE,
} from './record.js';
import { recover } from './recovery.js';
import type { RememberedMetas } from './remembered.js';
import { noteRemoval, releaseReader, type Segment } from './segment.js';
import type { Spool, SpoolEntry, SpoolOptions, SpoolStats } from './types.js';

/**
 * Opens (creating if needed) the local-disk spool: takes the lock, replays the segment log to
 * rebuild the index (cutting off a torn tail), and returns the spool.
 *
 * @throws SternaError `STERNA_SPOOL_WRITE` (directories cannot be created or locked),
 *   `STERNA_SPOOL_LOCKED`, `STERNA_SPOOL_READ`, `STERNA_SPOOL_OPTIONS_INVALID`
 */
export async function openSpool(options: SpoolOptions): Promise<Spool> {
  const logger = options.logger ?? silentLogger;
  const minSpace = parseThreshold(options.minFreeSpace ?? '10%', 'minFreeSpace');
  const minInodes = parseThreshold(options.minFreeInodes ?? '10%', 'minFreeInodes');
  const segmentSize = options.segmentSize ?? 64 * 1024 * 1024;
  const compactBelow = options.compactBelow ?? 0.5;
  const lazyDelay = options.removeFlushDelay ?? 1000;
  const freshCacheBytes = options.freshCacheBytes ?? 16 * 1024 * 1024;
  const checkpointEvery = options.checkpointEvery ?? 256 * 1024 * 1024;
  if (
    !(segmentSize > 0) ||
    !(compactBelow >= 0 && compactBelow < 1) ||
    !(lazyDelay >= 0) ||
    !(freshCacheBytes >= 0) ||
    !(checkpointEvery >= 0)
  ) {
    throw spoolError(
      'STERNA_SPOOL_OPTIONS_INVALID',
      'segmentSize must be > 0, compactBelow in [0, 1), removeFlushDelay >= 0, freshCacheBytes >= 0, checkpointEvery >= 0',
    );
  }
  const dir = options.dataPath;
  let dirHandle: FileHandle;
  try {
    await makeDir(dir);
    if (options.metaPath !== dir) await makeDir(options.metaPath);
    dirHandle = await open(dir, 'r');
  } catch (error) {
    throw spoolError(
      'STERNA_SPOOL_WRITE',
      `cannot create spool directory: ${ioReason(error)}`,
      error,
    );
  }
  let lock: SpoolLock | undefined;
  try {
    lock = await acquireLock(dir, logger);
    const started = performance.now();
    const state = await recover(dir, logger);
    // A checkpoint read stays: it is a place in the log, and a crash from here reads it and
    // replays the log after it. One that could not be used goes, and so does a half-written one.
    await discardCheckpoint(dir, dirHandle, { keep: state.fromCheckpoint }).catch(
      async (error: unknown) => {
        for (const s of state.segments.values()) await s.fh.close().catch(() => {});
        throw spoolError(
          'STERNA_SPOOL_WRITE',
          `cannot delete the spool's index checkpoint: ${ioReason(error)}`,
          error,
        );
      },
    );
    logger.info(
      state.fromCheckpoint
        ? 'spool index read from its checkpoint, and the log after it replayed'
        : 'spool index rebuilt by replaying the log',
      {
        messages: state.index.count,
        segments: state.segments.size,
        replayedBytes: state.replayed,
        ...(state.dropped > 0 ? { removedSince: state.dropped } : {}),
        seconds: Math.round(performance.now() - started) / 1000,
      },
    );
    const spool = new LocalSpool(dir, dirHandle, lock, logger, state, {
      guard: new SpaceGuard(dir, minSpace, minInodes),
      segmentSize,
      compactBelow,
      lazyDelay,
      freshCacheBytes,
      checkpointEvery,
    });
    spool.scheduleCompaction();
    state.metas.onUnusable = (problem) =>
      logger.warn('spool index checkpoint: metadata not usable, read from the log instead', {
        checkpoint: path.join(dir, CHECKPOINT_NAME),
        problem,
      });
    return spool;
  } catch (error) {
    await lock?.release();
    await dirHandle.close().catch(() => {});
    throw error;
  }
}

// Entries per batch of `batches()`.
const BATCH = 1024;

// Metadata read from disk by `batches()`: records of one segment at most this many bytes apart
// are read in one read, of at most META_SPAN bytes.
const META_GAP = 512;
const META_SPAN = 64 * 1024;

// A removal whose write failed is queued again this late.
const REMOVE_RETRY_MS = 1000;

// A segment compaction had to keep (damaged, or updated too fast to copy) is retried this late.
const RETRY_MS = 10_000;

interface Tuning {
  readonly guard: SpaceGuard;
  readonly segmentSize: number;
  readonly compactBelow: number;
  readonly lazyDelay: number;
  readonly freshCacheBytes: number;
  readonly checkpointEvery: number;
}

class LocalSpool implements Spool {
  readonly segments: Map<number, Segment>;
  readonly index: SpoolIndex;
  readonly writer: LogWriter;
  stopping = false;
  readonly metas: RememberedMetas;
  private readonly storing = new Set<string>();
  private readonly failedRemovals = new Map<string, number>();
  // Bodies stored but not read yet, oldest first (Map keeps insertion order), within a byte budget.
  private readonly fresh = new Map<string, Uint8Array>();
  private freshBytes = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private bytes = 0;
  private compactions = 0;
  private compacting: Promise<void> | undefined;
  // The checkpoint being written while the spool runs, and the log's length at the last one.
  private checkpointing: Promise<void> | undefined;
  private checkpointedAt: number;
  private closed: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    readonly dirHandle: FileHandle,
    private readonly lock: SpoolLock,
    readonly logger: Logger,
    state: Awaited<ReturnType<typeof recover>>,
    private readonly tuning: Tuning,
  ) {
    this.segments = state.segments;
    this.index = state.index;
    this.metas = state.metas;
    for (const slot of this.index.slots()) this.bytes += this.index.size[slot]!;
    this.writer = new LogWriter({
      dir,
      dirHandle,
      segments: this.segments,
      firstSegment: state.nextSegment,
      segmentSize: tuning.segmentSize,
      lazyDelay: tuning.lazyDelay,
      logger,
      onSealed: () => this.scheduleCompaction(),
      onCommitted: () => this.checkpointIfDue(),
    });
    // A long replay at this open is as much log as a crash would replay again: count it.
    this.checkpointedAt = -state.replayed;
  }

  async store(entry: SpoolEntry, data: Uint8Array): Promise<void> {
    this.assertOpen();
    const { id } = entry;
    assertSpoolId(id);
    if (this.index.has(id) || this.storing.has(id)) {
      throw spoolError('STERNA_SPOOL_DUPLICATE', `message ${id} is already spooled`);
    }
    const meta = encodeMeta(entry);
    const head = encodeRecord(STORE, id, meta, data);
    const length = head.length + data.length;
    this.storing.add(id);
    try {
      await this.tuning.guard.reserve(length);
      this.assertOpen();
      await this.writer.append([head, data], length, true, (seg, off) => {
        const slot = this.index.set(id, seg.no, off, meta.length, data.length);
        this.metas.forget(slot); // a slot used before: nothing remembered is this message's
        this.bytes += data.length;
        account(this.segments, this.index, slot, 1);
      });
      this.keepFresh(id, data);
    } finally {
      this.storing.delete(id);
    }
  }

  private keepFresh(id: string, data: Uint8Array): void {
    const budget = this.tuning.freshCacheBytes;
    if (data.byteLength > budget / 4) return;
    this.fresh.set(id, data);
    this.freshBytes += data.byteLength;
    for (const [oldest, body] of this.fresh) {
      if (this.freshBytes <= budget) break;
      this.fresh.delete(oldest);
      this.freshBytes -= body.byteLength;
    }
  }

  private takeFresh(id: string): Uint8Array | undefined {
    const body = this.fresh.get(id);
    if (body !== undefined) {
      this.fresh.delete(id);
      this.freshBytes -= body.byteLength;
    }
    return body;
  }

  async update(entry: SpoolEntry): Promise<void> {
    this.assertOpen();
    const { id } = entry;
    const index = this.index;
    const slot = this.slotOf(id);
    const born = index.born[slot]!;
    const meta = encodeMeta(entry);
    const head = encodeRecord(UPDATE, id, meta);
    index.version[slot] = index.version[slot]! + 1; // wraps at 2^32: only compared for equality
    const version = index.version[slot]!;
    index.pending.set(slot, meta);
    this.metas.forget(slot);
    // Still this message, and no later update since: the bookkeeping is this update's.
    const current = () => index.is(id, slot, born) && index.version[slot] === version;
    try {
      await this.writer.append([head], head.length, true, (seg, off) => {
        if (!current()) return;
        const previous = this.segments.get(index.mseg[slot]!);
        account(this.segments, index, slot, -1);
        index.mseg[slot] = seg.no;
        index.moff[slot] = off;
        index.mlen[slot] = meta.length;
        index.pending.delete(slot);
        account(this.segments, index, slot, 1);
        if (previous !== undefined && previous !== seg) this.scheduleCompaction(previous);
      });
    } catch (error) {
      if (current()) index.pending.delete(slot); // the disk still has the previous one
      throw error;
    }
  }

  async read(id: string): Promise<Uint8Array> {
    this.assertOpen();
    const slot = this.slotOf(id);
    // Stored moments ago and not read since: the bytes on disk are these (checksummed when they
    // were written); skip the read-back.
    const fresh = this.takeFresh(id);
    if (fresh !== undefined) return fresh;
    const { index } = this;
    const seg = index.seg[slot]!;
    const off = index.off[slot]!;
    const record = await this.pread(
      seg,
      off,
      HEADER_SIZE + index.storeMeta[slot]! + index.size[slot]!,
    );
    const header = decodeHeader(record, 0);
    if (typeof header === 'string' || header.id !== id || !checksumMatches(record, header)) {
      throw spoolError(
        'STERNA_SPOOL_CORRUPT',
        `message ${id} failed its checksum (segment ${seg}, offset ${off})`,
      );
    }
    return record.subarray(HEADER_SIZE + header.metaLength);
  }

  async remove(id: string): Promise<void> {
    this.assertOpen();
    const { index } = this;
    const slot = index.slot(id);
    if (slot === undefined) return;
    this.takeFresh(id);
    const seg = index.seg[slot]!;
    const mseg = index.mseg[slot]!;
    this.bytes -= index.size[slot]!;
    account(this.segments, index, slot, -1);
    this.metas.forget(slot);
    index.delete(id); // the slot is free from here: read nothing of it after this
    this.queueRemove(id, seg);
    const data = this.segments.get(seg);
    if (data !== undefined) this.scheduleCompaction(data);
    const meta = this.segments.get(mseg);
    if (meta !== undefined && meta !== data) this.scheduleCompaction(meta);
  }

  queueRemove(id: string, target: number): void {
    const head = encodeRecord(REMOVE, id, Buffer.from(JSON.stringify({ segment: target })));
    this.writer
      .append([head], head.length, false, (seg) =>
        noteRemoval(this.segments, seg, target, head.length),
      )
      .catch((error: unknown) => {
        // Memory has already forgotten the message: keep trying, or a restart would bring it
        // back (a full disk fails every write until space returns).
        if (!this.failedRemovals.has(id)) {
          this.logger.warn('spool removal not written yet: retrying', {
            id,
            error: ioReason(error),
          });
        }
        this.failedRemovals.set(id, target);
        this.retryTimer ??= setTimeout(() => this.retryRemovals(), REMOVE_RETRY_MS).unref();
      });
  }

  private retryRemovals(): void {
    this.retryTimer = undefined;
    const failed = [...this.failedRemovals];
    this.failedRemovals.clear();
    for (const [id, target] of failed) this.queueRemove(id, target);
  }

  async *enumerate(): AsyncIterable<SpoolEntry> {
    for await (const batch of this.batches()) yield* batch;
  }

  async *batches(): AsyncIterable<readonly SpoolEntry[]> {
    this.assertOpen();
    const { index } = this;
    const cache: MetaCache = { text: undefined, meta: undefined };
    const { slots, born } = index.snapshot();
    let batch: SpoolEntry[] = [];
    for (let w = 0; w < slots.length; w += BATCH) {
      const end = Math.min(slots.length, w + BATCH);
      // Read from the checkpoint after the open: a chunk may still be on its way.
      for (let i = w; i < end; i++) {
        const loading = this.metas.loading(slots[i]!);
        if (loading !== undefined) await loading;
      }
      // What memory does not hold is read for the whole window at once.
      const read = await this.readMetas(slots.subarray(w, end), born.subarray(w, end));
      for (let i = w; i < end; i++) {
        const slot = slots[i]!;
        if (index.born[slot] !== born[i]) continue; // removed since
        const id = index.id(slot);
        const size = index.size[slot]!;
        const remembered = this.metas.text(slot);
        this.metas.forget(slot); // kept only for the first enumeration after open
        const ahead = read.get(slot);
        let json: Uint8Array | string;
        try {
          json =
            remembered ??
            (ahead !== undefined &&
            ahead.version === index.version[slot] &&
            !index.pending.has(slot)
              ? ahead.meta
              : await this.metaOf(slot));
        } catch (error) {
          if (index.born[slot] !== born[i]) continue; // removed meanwhile
          throw error;
        }
        batch.push(decodeMeta(id, size, json, cache));
        if (batch.length === BATCH) {
          yield batch;
          batch = [];
        }
      }
    }
    if (batch.length > 0) yield batch;
    this.metas.clear();
  }

  /**
   * The metadata of those of `slots` (in the lives `born`) whose metadata is only on disk, read
   * with reads in parallel, neighbouring records of a segment in one read; each with the
   * message's version when read, so a use can tell an update overtook it. A read that fails
   * leaves its messages out (the caller reads them one by one, and reports the error then).
   */
  private async readMetas(
    slots: Uint32Array,
    born: Uint32Array,
  ): Promise<Map<number, { meta: Uint8Array; version: number }>> {
    const { index } = this;
    const out = new Map<number, { meta: Uint8Array; version: number }>();
    const wanted: number[] = [];
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      if (index.born[slot] !== born[i] || index.pending.has(slot)) continue;
      if (this.metas.bytes(slot) === undefined) wanted.push(slot);
    }
    if (wanted.length === 0) return out;
    wanted.sort((a, b) => index.mseg[a]! - index.mseg[b]! || index.moff[a]! - index.moff[b]!);
    const at = (slot: number) => index.moff[slot]! + HEADER_SIZE;
    // The spans to read, and one buffer for all of them.
    const spans: { seg: number; start: number; length: number; from: number; to: number }[] = [];
    let total = 0;
    for (let first = 0; first < wanted.length; ) {
      const seg = index.mseg[wanted[first]!]!;
      const start = at(wanted[first]!);
      let end = start + index.mlen[wanted[first]!]!;
      let last = first + 1;
      for (; last < wanted.length; last++) {
        const next = wanted[last]!;
        const to = at(next) + index.mlen[next]!;
        if (index.mseg[next] !== seg || at(next) - end > META_GAP || to - start > META_SPAN) break;
        end = Math.max(end, to);
      }
      spans.push({ seg, start, length: end - start, from: first, to: last });
      total += end - start;
      first = last;
    }
    const into = Buffer.allocUnsafe(total);
    const reads: Promise<void>[] = [];
    let place = 0;
    for (const { seg, start, length, from, to } of spans) {
      // Where each one is now: a compaction may move it while the read runs (the bytes read
      // are still that metadata).
      const group: { slot: number; at: number; length: number; version: number }[] = [];
      for (let k = from; k < to; k++) {
        const slot = wanted[k]!;
        const mlen = index.mlen[slot]!;
        group.push({
          slot,
          at: place + at(slot) - start,
          length: mlen,
          version: index.version[slot]!,
        });
      }
      reads.push(
        this.preadInto(seg, into, place, length, start).then(
          () => {
            for (const g of group) {
              out.set(g.slot, { meta: into.subarray(g.at, g.at + g.length), version: g.version });
            }
          },
          () => {},
        ),
      );
      place += length;
    }
    await Promise.all(reads);
    return out;
  }

  stats(): SpoolStats {
    let diskBytes = 0;
    for (const s of this.segments.values()) diskBytes += s.size;
    return {
      messages: this.index.count,
      bytes: this.bytes,
      segments: this.segments.size,
      diskBytes,
      syncs: this.writer.syncs,
      compactions: this.compactions,
      compacting: this.compacting !== undefined,
    };
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.stopping = true;
      this.fresh.clear();
      this.freshBytes = 0;
      await this.compacting;
      clearTimeout(this.retryTimer);
      if (this.failedRemovals.size > 0) this.retryRemovals(); // one last try, flushed below
      try {
        await this.writer.close();
        await this.checkpointing;
        await this.checkpoint();
        await this.dirHandle.sync();
      } finally {
        this.metas.clear();
        for (const s of this.segments.values()) {
          s.deleted = true;
          if (s.readers === 0) await s.fh.close().catch(() => {});
        }
        await this.dirHandle.close().catch(() => {});
        await this.lock.release();
      }
    })();
    return this.closed;
  }

  /**
   * Starts a checkpoint once the log has grown by `checkpointEvery` bytes since the last one (or
   * since an open that replayed that much), unless one is being written. Its state is taken at a
   * place the log writer marks, where the index is the log's up to there; it is written in the
   * background, without metadata (an open after a crash reads that from the records).
   */
  private checkpointIfDue(): void {
    const every = this.tuning.checkpointEvery;
    if (every === 0 || this.checkpointing !== undefined) return;
    if (this.writer.bytes - this.checkpointedAt < every) return;
    void this.checkpointNow();
  }

  /**
   * Writes a checkpoint of the log up to everything queued so far (`checkpointEvery` calls it;
   * tests call it directly). Resolves once it is written, or failed with a warning; nothing when
   * the spool is closing or one is being written already (it resolves with that one).
   */
  checkpointNow(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    if (this.checkpointing !== undefined) return this.checkpointing;
    this.checkpointedAt = this.writer.bytes;
    let writing: ReturnType<typeof writeCheckpoint> | undefined;
    let began = 0;
    let paused = 0;
    // Room for the messages that may come while the memory is made ready.
    this.checkpointing = scratchFor(Math.ceil(this.index.count * 1.1) + 1024)
      .then((scratch) =>
        this.writer.mark((segment, size) => {
          if (this.stopping) return;
          began = performance.now();
          const place = segment === undefined ? undefined : { no: segment.no, size };
          // Its state is copied before this returns: the only time it holds everything up.
          writing = writeCheckpoint(this, { place, metadata: false, scratch });
          paused = performance.now() - began;
        }),
      )
      .then(async () => {
        if (writing === undefined) return;
        const written = await writing;
        this.logger.info('spool index checkpoint written', {
          ...written,
          pausedMs: Math.round(paused),
          seconds: Math.round(performance.now() - began) / 1000,
        });
      })
      .catch((error: unknown) => {
        this.logger.warn(
          'spool index checkpoint not written: a crash would replay more of the log',
          {
            error: ioReason(error),
          },
        );
      })
      .finally(() => {
        this.checkpointing = undefined;
      });
    return this.checkpointing;
  }

  /**
   * Writes the index checkpoint the next open reads instead of replaying the log, once every
   * write is durable. Skipped (the next open replays) while a removal or an update is not on disk;
   * a failure is logged and leaves no checkpoint.
   */
  private async checkpoint(): Promise<void> {
    if (this.failedRemovals.size > 0 || this.index.pending.size > 0) return;
    const started = performance.now();
    try {
      const written = await writeCheckpoint(this);
      this.logger.info('spool index checkpoint written', {
        ...written,
        seconds: Math.round(performance.now() - started) / 1000,
      });
    } catch (error) {
      this.logger.warn(
        'spool index checkpoint not written at stop: the next start replays more of the log',
        {
          error: ioReason(error),
        },
      );
    }
  }

  async metaOf(slot: number): Promise<Uint8Array> {
    const { index } = this;
    const pending = index.pending.get(slot);
    if (pending !== undefined) return pending;
    const remembered = this.metas.text(slot);
    if (remembered !== undefined) return Buffer.from(remembered, 'utf8');
    return this.pread(index.mseg[slot]!, index.moff[slot]! + HEADER_SIZE, index.mlen[slot]!);
  }

  /** Starts a background compaction when a sealed segment is mostly dead and none is running. */
  scheduleCompaction(changed?: Segment): void {
    if (this.compacting !== undefined || this.stopping) return;
    // After a removal only the segments it touched can have crossed the threshold: checking
    // them alone keeps remove() from scanning every segment of a large spool.
    if (changed !== undefined && !worthCompacting(changed, this.tuning.compactBelow)) return;
    const segment = pickSegment(this.segments, this.tuning.compactBelow);
    if (segment === undefined) return;
    this.compacting = (async () => {
      await new Promise((r) => setImmediate(r)); // off the caller's stack
      let done = false;
      try {
        done = await compactSegment(this, segment);
      } catch (error) {
        if (!this.stopping) {
          this.logger.error('spool compaction failed', {
            segment: segment.path,
            error: ioReason(error),
          });
        }
      }
      if (done) {
        this.compactions++;
        this.tuning.guard.forget(); // a segment file is gone: its space counts at once
      } else segment.retryAfter = Date.now() + RETRY_MS; // kept: no busy loop over it
    })().finally(() => {
      this.compacting = undefined;
      this.scheduleCompaction();
    });
  }

  private slotOf(id: string): number {
    const slot = this.index.slot(id);
    if (slot === undefined)
      throw spoolError('STERNA_SPOOL_NOT_FOUND', `no message ${id} in the spool ${this.dir}`);
    return slot;
  }

  /** Reads `length` bytes of segment `no` at `offset` into a new buffer. */
  private async pread(no: number, offset: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    await this.preadInto(no, buf, 0, length, offset);
    return buf;
  }

  /**
   * Reads `length` bytes of segment `no` at `position` into `into[at]`, through the file
   * descriptor (lighter than the file handle's read, for the many small reads of `batches()`).
   *
   * @throws SternaError `STERNA_SPOOL_READ`
   */
  private async preadInto(
    no: number,
    into: Buffer,
    at: number,
    length: number,
    position: number,
  ): Promise<void> {
    const segment = this.segments.get(no);
    if (segment === undefined)
      throw spoolError('STERNA_SPOOL_READ', `spool segment ${no} is missing`);
    segment.readers++;
    try {
      let got = 0;
      while (got < length) {
        const n = await new Promise<number>((resolve, reject) =>
          read(segment.fh.fd, into, at + got, length - got, position + got, (error, bytes) =>
            error ? reject(error) : resolve(bytes),
          ),
        );
        if (n === 0) throw new Error(`unexpected end of ${segment.path} at ${position + got}`);
        got += n;
      }
    } catch (error) {
      throw spoolError(
        'STERNA_SPOOL_READ',
        `cannot read spool segment ${segment.path}: ${ioReason(error)}`,
        error,
      );
    } finally {
      releaseReader(segment);
    }
  }

  private assertOpen(): void {
    if (this.stopping) throw spoolError('STERNA_SPOOL_CLOSED', `spool ${this.dir} is closed`);
  }
}
