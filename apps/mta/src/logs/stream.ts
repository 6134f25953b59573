import { errorText } from '@sterna/core';
import { Segment } from './segment.js';
import { compressFrame } from './zstd.js';

/** One rendered record waiting to be written. */
export interface Entry {
  readonly line: string;
  /** The segment header of the record's type, written if this record opens a segment. */
  readonly header: string;
}

/** The parts of the config a stream needs. */
export interface StreamSettings {
  readonly maxFileSize: number;
  readonly maxSegmentDuration?: number;
  readonly compressionLevel: number;
}

/** How a stream reports to its writer. */
export interface StreamEvents {
  /** A frame holding `count` records is on disk. */
  written(count: number): void;
  /** A segment file was created. */
  opened(): void;
  /**
   * The open segment reached `max_segment_duration`: the writer runs `rotate` in turn with
   * its other writes (segment files have a single writer at a time).
   */
  expired(rotate: () => Promise<void>): void;
  warn(message: string, fields: Record<string, unknown>): void;
}

/** A frame holds at most this much text, so one batch never needs a huge buffer. */
const MAX_FRAME_TEXT = 4 * 1024 * 1024;
/** The longest delay `setTimeout` honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The records of one (`log_dir`, `suffix`) pair and its open segment: queued lines are written
 * as zstd frames, and the segment is finished by size, by age (a timer) or on demand.
 */
export class LogStream {
  /** Lines queued and not yet taken by a write. */
  pending: Entry[] = [];
  private segment: Segment | undefined;
  private expiry: NodeJS.Timeout | undefined;

  constructor(
    /** Directory of the segments. */
    readonly dir: string,
    /** Appended to each segment's name. */
    readonly suffix: string,
    private readonly settings: StreamSettings,
    private readonly events: StreamEvents,
  ) {}

  /**
   * Writes every queued line. On failure the unwritten lines go back to the front of the queue
   * and the error is thrown; a frame cut short is removed from the file by the segment.
   */
  async write(): Promise<void> {
    const entries = this.pending;
    this.pending = [];
    const { maxFileSize, compressionLevel } = this.settings;
    let next = 0;
    try {
      while (next < entries.length) {
        if (this.segment?.broken) await this.finish();
        const segment = this.segment ?? (await this.open());
        const parts =
          segment.isEmpty && entries[next]!.header !== '' ? [entries[next]!.header] : [];
        let bytes = 0;
        let end = next;
        // KumoMTA checks the size after each record: the record that reaches max_file_size
        // is the last of its segment.
        while (end < entries.length && bytes < MAX_FRAME_TEXT) {
          const line = entries[end]!.line;
          parts.push(line);
          bytes += Buffer.byteLength(line);
          end++;
          if (segment.uncompressed + bytes >= maxFileSize) break;
        }
        const frame = compressFrame(Buffer.from(parts.join('')), compressionLevel);
        await segment.append(frame, bytes);
        this.events.written(end - next);
        next = end;
        if (segment.uncompressed >= maxFileSize) await this.finish();
      }
    } catch (error) {
      this.pending = entries.slice(next).concat(this.pending);
      if (this.segment?.broken) await this.finish();
      throw error;
    }
  }

  /** Finishes the open segment, if any: synced, closed, read-only. */
  async finish(): Promise<void> {
    if (this.expiry) clearTimeout(this.expiry);
    this.expiry = undefined;
    const segment = this.segment;
    if (!segment) return;
    this.segment = undefined;
    await segment.finish((error) =>
      this.events.warn('finishing log segment failed', {
        path: segment.path,
        error: errorText(error),
      }),
    );
  }

  private async open(): Promise<Segment> {
    const segment = await Segment.create(this.dir, this.suffix);
    this.segment = segment;
    this.events.opened();
    const seconds = this.settings.maxSegmentDuration;
    // Timer-driven so an idle segment is finished on time, not at the next record.
    if (seconds !== undefined) this.armExpiry(segment, performance.now() + seconds * 1000);
    return segment;
  }

  private armExpiry(segment: Segment, deadline: number): void {
    // Node fires a timer longer than 2^31-1 ms at once: long durations are waited in steps.
    const delay = Math.min(Math.max(deadline - performance.now(), 0), MAX_TIMER_MS);
    this.expiry = setTimeout(() => {
      if (this.segment !== segment) return;
      if (performance.now() < deadline) {
        this.armExpiry(segment, deadline);
        return;
      }
      this.events.expired(async () => {
        if (this.segment !== segment) return;
        try {
          // Records queued before the deadline still belong to this segment.
          if (this.pending.length > 0) await this.write();
        } finally {
          if (this.segment === segment) await this.finish();
        }
      });
    }, delay).unref();
  }
}
