import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SternaError } from '@sterna/core';
import type { LogRecord } from '@sterna/core/engine';
import { decompressFrame, loadZstd, scanFrames } from './zstd.js';

/** One segment read back. */
export interface SegmentText {
  /** Full path of the file. */
  readonly path: string;
  /** The decompressed text of every complete frame. */
  readonly text: string;
  /** Bytes of a last frame cut short (the writer crashed mid-write); 0 when none. */
  readonly tornBytes: number;
}

/** The segment files of a directory in time order (names sort by opening time). */
export async function listSegments(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort()
    .map((name) => join(dir, name));
}

/**
 * The decompressed text of a segment, one frame at a time (returns the size of a torn tail), so
 * a reader can stop part-way through a large segment.
 *
 * @throws SternaError `STERNA_LOGS_READ` as {@link readSegment}.
 */
export async function* segmentFrames(path: string): AsyncGenerator<string, number> {
  await loadZstd();
  const buf = new Uint8Array(await readFile(path));
  const scan = scanFrames(buf);
  if (scan.garbageAt !== undefined) {
    throw new SternaError(
      'STERNA_LOGS_READ',
      `${path}: no zstd frame at byte ${scan.garbageAt} (not a log segment, or damaged)`,
    );
  }
  const decoder = new TextDecoder();
  for (const frame of scan.frames) {
    let bytes: Uint8Array;
    try {
      bytes = decompressFrame(buf, frame);
    } catch (error) {
      throw new SternaError(
        'STERNA_LOGS_READ',
        `${path}: the zstd frame at byte ${frame.start} is corrupt`,
        { cause: error },
      );
    }
    // stream: a frame of another writer may end inside a UTF-8 sequence.
    yield decoder.decode(bytes, { stream: true });
  }
  const rest = decoder.decode();
  if (rest !== '') yield rest;
  return scan.tornBytes;
}

/**
 * Reads one segment: every complete zstd frame, decompressed. A torn last frame (a crash while
 * writing) is left out and counted in `tornBytes`.
 *
 * @throws SternaError `STERNA_LOGS_READ` when the file is not zstd or a complete frame is corrupt.
 */
export async function readSegment(path: string): Promise<SegmentText> {
  const frames = segmentFrames(path);
  let text = '';
  for (;;) {
    const next = await frames.next();
    if (next.done) return { path, text, tornBytes: next.value };
    text += next.value;
  }
}

/**
 * Reads the JSON records of every segment in `dir`, oldest segment first, decompressing one
 * frame at a time. Lines that are not JSON objects (template output, a segment header) are
 * skipped.
 *
 * @throws SternaError `STERNA_LOGS_READ` as {@link readSegment}.
 */
export async function* iterateLogRecords(dir: string): AsyncGenerator<LogRecord> {
  for (const path of await listSegments(dir)) {
    let carry = ''; // a line split across frames (other writers' frames need not end at \n)
    for await (const text of segmentFrames(path)) {
      const lines = (carry + text).split('\n');
      carry = lines.pop()!;
      yield* parseLines(lines);
    }
    yield* parseLines([carry]);
  }
}

function* parseLines(lines: readonly string[]): Generator<LogRecord> {
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      continue;
    }
    yield record as LogRecord;
  }
}

/** Every record of every segment in `dir`, in order (for tests and small tools). */
export async function readLogRecords(dir: string): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  for await (const record of iterateLogRecords(dir)) records.push(record);
  return records;
}
