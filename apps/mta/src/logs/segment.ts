import { chmod, constants, type FileHandle, mkdir, open, stat } from 'node:fs/promises';
import { join } from 'node:path';

let lastNanos = 0n;

/** Epoch nanoseconds, strictly increasing within this process (names must not collide). */
function uniqueNanos(): bigint {
  const ms = BigInt(Date.now());
  const subMs = process.hrtime.bigint() % 1_000_000n;
  let ns = ms * 1_000_000n + subMs;
  if (ns <= lastNanos) ns = lastNanos + 1n;
  lastNanos = ns;
  return ns;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/**
 * A segment's base name: its UTC opening time as `YYYYMMDD-HHMMSS.fffffffff` (KumoMTA's
 * `%Y%m%d-%H%M%S%.f` with nanoseconds), so names sort in time order.
 */
export function segmentName(nanos: bigint): string {
  const d = new Date(Number(nanos / 1_000_000n));
  const fraction = String(nanos % 1_000_000_000n).padStart(9, '0');
  return (
    `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}-` +
    `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}.${fraction}`
  );
}

/** True for a name {@link segmentName} made (with or without a suffix). */
export function isSegmentName(name: string): boolean {
  return /^\d{8}-\d{6}\.\d{9}/.test(name);
}

/** Removes the write bits of a file: KumoMTA's signal that a segment is complete. */
export async function markReadOnly(path: string): Promise<boolean> {
  const { mode } = await stat(path);
  if ((mode & 0o222) === 0) return false;
  await chmod(path, mode & 0o7555);
  return true;
}

/** One open segment file: compressed frames are appended at the end, nothing is rewritten. */
export class Segment {
  /** Uncompressed bytes written (records and header), compared with `max_file_size`. */
  uncompressed = 0;
  /** Bytes on disk. */
  private size = 0;
  private finished: Promise<void> | undefined;

  private constructor(
    /** Full path of the file. */
    readonly path: string,
    private readonly handle: FileHandle,
    /** `Date.now()` when opened; the segment expires `max_segment_duration` later. */
    readonly openedAt: number,
  ) {}

  /** Creates a new segment in `dir` (made if missing), never reusing an existing name. */
  static async create(dir: string, suffix: string): Promise<Segment> {
    await mkdir(dir, { recursive: true });
    for (let attempt = 0; ; attempt++) {
      const path = join(dir, segmentName(uniqueNanos()) + suffix);
      try {
        // O_EXCL: another process writing the same directory cannot clobber our file.
        const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;
        const handle = await open(path, flags, 0o644);
        return new Segment(path, handle, Date.now());
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 100) throw error;
      }
    }
  }

  /**
   * Appends one complete zstd frame. If the write fails part way the file is cut back to its
   * previous length so it stays a valid sequence of frames; if even that fails the caller
   * must abandon the segment ({@link broken} is set).
   */
  async append(frame: Uint8Array, uncompressedBytes: number): Promise<void> {
    const start = this.size;
    try {
      let done = 0;
      while (done < frame.length) {
        const { bytesWritten } = await this.handle.write(
          frame,
          done,
          frame.length - done,
          start + done,
        );
        done += bytesWritten;
      }
    } catch (error) {
      try {
        await this.handle.truncate(start);
      } catch {
        this.broken = true;
      }
      throw error;
    }
    this.size = start + frame.length;
    this.uncompressed += uncompressedBytes;
  }

  /** Set when a failed append could not be undone: write nothing more here. */
  broken = false;

  /** True until the first frame is written (the segment header goes into that frame). */
  get isEmpty(): boolean {
    return this.size === 0;
  }

  /**
   * Finishes the segment: data synced, file closed, write bits removed. Idempotent; errors
   * are reported to `onError` rather than thrown, since the records are already written.
   */
  finish(onError: (error: unknown) => void): Promise<void> {
    this.finished ??= (async () => {
      try {
        await this.handle.datasync();
      } catch (error) {
        onError(error);
      }
      try {
        await this.handle.close();
      } catch (error) {
        onError(error);
      }
      try {
        await markReadOnly(this.path);
      } catch (error) {
        onError(error);
      }
    })();
    return this.finished;
  }
}
