import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@sterna/core';
import { ioReason, spoolError } from './errors.js';
import { newSegment, type Segment, segmentName } from './segment.js';

/** Called once a record is written and synced, with where it landed. */
export type OnWritten = (segment: Segment, offset: number) => void;

/**
 * Called at a place in the log (see {@link LogWriter.mark}): every record before it is durable
 * and its `OnWritten` has run, none after it has. `segment` is the segment the place is in, with
 * `offset` its length there; undefined when every segment's `size` is the place.
 */
export type OnMark = (segment: Segment | undefined, offset: number) => void;

interface Pending {
  readonly buffers: readonly Uint8Array[];
  readonly length: number;
  readonly onWritten: OnWritten | undefined;
  readonly onMark?: OnMark | undefined;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** What the writer needs from the spool. */
export interface LogWriterOptions {
  readonly dir: string;
  /** The spool directory, opened for fsync after a segment is created or deleted. */
  readonly dirHandle: FileHandle;
  readonly segments: Map<number, Segment>;
  readonly firstSegment: number;
  readonly segmentSize: number;
  readonly lazyDelay: number;
  readonly logger: Logger;
  /** Told when a segment stops taking appends (the spool may compact it). */
  readonly onSealed: (segment: Segment) => void;
  /** Told after each round of writes is durable and its bookkeeping done. */
  readonly onCommitted?: () => void;
}

/**
 * The group commit: records queue up while a write + `fdatasync` is running; the next round
 * writes all of them with one `writev` and makes them durable with one `fdatasync`. Records are
 * positioned when written, so log order is queue order. Lazy records (removals) do not start a
 * round; they ride with the next one, or one forced after `lazyDelay` ms.
 */
export class LogWriter {
  /** `fdatasync` calls on segments so far. */
  syncs = 0;
  /** Bytes of records written and synced so far. */
  bytes = 0;
  private queue: Pending[] = [];
  private urgent = false;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private active: Segment | undefined;
  private nextNo: number;

  constructor(private readonly o: LogWriterOptions) {
    this.nextNo = o.firstSegment;
  }

  /** Queues a record; resolves once it is durable, with its place reported to `onWritten`. */
  append(buffers: readonly Uint8Array[], length: number, urgent: boolean, onWritten?: OnWritten) {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ buffers, length, onWritten, resolve, reject });
      if (urgent) this.urgent = true;
      this.kick();
    });
  }

  /** Resolves once everything queued so far is durable. */
  flush(): Promise<void> {
    return this.append([], 0, true);
  }

  /**
   * Calls `onMark` at the place in the log after everything queued so far and before anything
   * queued later, once what is before it is durable: the state it sees is the log's up to there.
   * Like a flush, it starts a round when none is running (writing the lazy records queued).
   */
  mark(onMark: OnMark): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ buffers: [], length: 0, onWritten: undefined, onMark, resolve, reject });
      this.urgent = true;
      this.kick();
    });
  }

  /** Flushes, then closes every segment handle (the spool is closing). */
  async close(): Promise<void> {
    await this.flush();
    clearTimeout(this.timer);
    this.active = undefined;
  }

  private kick(): void {
    if (this.running) return;
    if (this.urgent) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.running = true;
      void this.run();
    } else if (this.queue.length > 0 && this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.urgent = true;
        this.kick();
      }, this.o.lazyDelay);
      this.timer.unref();
    }
  }

  private async run(): Promise<void> {
    while (this.urgent && this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      this.urgent = false;
      await this.commit(batch);
    }
    this.running = false;
    this.kick();
  }

  private async commit(batch: Pending[]): Promise<void> {
    const buffers: Uint8Array[] = [];
    let total = 0;
    for (const p of batch) {
      for (const b of p.buffers) if (b.length > 0) buffers.push(b);
      total += p.length;
    }
    if (total === 0) {
      // Only flush markers: every earlier round was synced before the next began.
      for (const p of batch) {
        this.report(p, undefined, 0);
        p.resolve();
      }
      return;
    }
    let segment: Segment | undefined;
    let start = 0;
    try {
      segment = await this.segment();
      start = segment.size;
      await writeAll(segment.fh, buffers, total, start);
      segment.size = start + total;
      await segment.fh.datasync();
      this.syncs++;
      this.bytes += total;
    } catch (error) {
      const failure = spoolError(
        'STERNA_SPOOL_WRITE',
        `spool write failed: ${ioReason(error)}`,
        error,
      );
      for (const p of batch) p.reject(failure);
      if (segment !== undefined) await this.abandon(segment, start);
      return;
    }
    let offset = start;
    for (const p of batch) {
      this.report(p, segment, offset);
      offset += p.length;
      p.resolve();
    }
    if (segment.size >= this.o.segmentSize) this.seal(segment);
    this.o.onCommitted?.();
  }

  private report(p: Pending, segment: Segment | undefined, offset: number): void {
    try {
      if (p.onMark !== undefined) p.onMark(segment, offset);
      else if (segment !== undefined) p.onWritten?.(segment, offset);
    } catch (error) {
      this.o.logger.error('spool bookkeeping failed', { error: ioReason(error) });
    }
  }

  /** The segment taking appends, created (and its directory entry synced) when needed. */
  private async segment(): Promise<Segment> {
    if (this.active !== undefined && !this.active.sealed) return this.active;
    const no = this.nextNo;
    const file = path.join(this.o.dir, segmentName(no));
    const fh = await open(file, 'wx+');
    try {
      await this.o.dirHandle.sync();
    } catch (error) {
      await fh.close().catch(() => {});
      throw error;
    }
    this.nextNo = no + 1;
    const segment = newSegment(this.o.dir, no, fh, 0);
    this.o.segments.set(no, segment);
    this.active = segment;
    return segment;
  }

  /**
   * After a failed write or sync the tail of the segment is unknown: cut it back to the last
   * durable record (best effort) and seal it, so later records go to a fresh file and recovery
   * never meets a hole in front of good records.
   */
  private async abandon(segment: Segment, goodLength: number): Promise<void> {
    segment.size = goodLength;
    try {
      await segment.fh.truncate(goodLength);
    } catch (error) {
      this.o.logger.error('spool could not cut a failed write back', {
        segment: segment.path,
        error: ioReason(error),
      });
    }
    this.seal(segment);
  }

  private seal(segment: Segment): void {
    segment.sealed = true;
    if (this.active === segment) this.active = undefined;
    this.o.onSealed(segment);
  }
}

async function writeAll(
  fh: FileHandle,
  buffers: Uint8Array[],
  total: number,
  position: number,
): Promise<void> {
  let done = 0;
  let rest = buffers;
  while (done < total) {
    const { bytesWritten } = await fh.writev(rest, position + done);
    if (bytesWritten <= 0) throw new Error('short write');
    done += bytesWritten;
    if (done < total) rest = skip(rest, bytesWritten);
  }
}

/** `buffers` without their first `n` bytes. */
function skip(buffers: Uint8Array[], n: number): Uint8Array[] {
  let left = n;
  let i = 0;
  while (i < buffers.length && left >= buffers[i]!.length) left -= buffers[i++]!.length;
  const rest = buffers.slice(i);
  if (left > 0 && rest.length > 0) rest[0] = rest[0]!.subarray(left);
  return rest;
}
