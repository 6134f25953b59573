import { open, stat } from 'node:fs/promises';
import { SternaError } from '@sterna/core';
import { listSegments } from '../logs/reader.js';
import { decompressFrame, loadZstd, scanFrames } from '../logs/zstd.js';

interface SegmentState {
  /** Bytes of complete frames read so far. */
  offset: number;
  /** Text after the last newline: a line whose end is in a frame not written yet. */
  carry: string;
  readonly decoder: InstanceType<typeof TextDecoder>;
}

/**
 * Reads a log directory's zstd segments as they grow, as KumoMTA's `tailer` does: each poll
 * reads the frames completed since the last one (the segment being written included) and
 * picks up new segments. A frame still being written is left for the next poll.
 */
export class LogFollower {
  readonly #dir: string;
  readonly #segments = new Map<string, SegmentState>();
  readonly #onSegment: (path: string) => void;

  /** `onSegment` hears of each segment as reading it starts (tailer prints its name). */
  constructor(dir: string, onSegment: (path: string) => void = () => {}) {
    this.#dir = dir;
    this.#onSegment = onSegment;
  }

  /**
   * The complete lines written since the last poll, oldest segment first.
   *
   * @throws SternaError `STERNA_LOGS_READ` when the directory cannot be listed or a segment is
   *   not zstd.
   */
  async poll(): Promise<string[]> {
    await loadZstd();
    let paths: string[];
    try {
      paths = await listSegments(this.#dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new SternaError(
        'STERNA_LOGS_READ',
        code === 'ENOENT'
          ? `the log directory ${this.#dir} does not exist (give the policy's log_dir with --log-dir)`
          : `cannot read the log directory ${this.#dir}: ${(error as Error).message}`,
      );
    }
    const lines: string[] = [];
    for (const path of paths) lines.push(...(await this.#readNew(path)));
    return lines;
  }

  async #readNew(path: string): Promise<string[]> {
    let state = this.#segments.get(path);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch {
      return []; // removed between the listing and now
    }
    if (state && size <= state.offset) return [];
    if (!state) {
      state = { offset: 0, carry: '', decoder: new TextDecoder() };
      this.#segments.set(path, state);
      this.#onSegment(path);
    }
    // only the bytes after the frames already read: a segment grows to max_file_size (1 GB)
    const rest = await readFrom(path, state.offset, size - state.offset);
    const scan = scanFrames(rest);
    if (scan.garbageAt !== undefined)
      throw new SternaError(
        'STERNA_LOGS_READ',
        `${path}: no zstd frame at byte ${state.offset + scan.garbageAt} (not a log segment?)`,
      );
    let text = '';
    for (const frame of scan.frames) {
      text += state.decoder.decode(decompressFrame(rest, frame), { stream: true });
      state.offset += frame.end - frame.start;
    }
    const lines = (state.carry + text).split('\n');
    state.carry = lines.pop() ?? '';
    return lines.filter((line) => line !== '');
  }
}

async function readFrom(path: string, position: number, length: number): Promise<Uint8Array> {
  const file = await open(path, 'r');
  try {
    const buf = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await file.read(buf, got, length - got, position + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  } finally {
    await file.close();
  }
}
