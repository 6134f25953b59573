import type { FileHandle } from 'node:fs/promises';
import {
  checksumMatches,
  decodeHeader,
  HEADER_SIZE,
  type RecordHeader,
  type RecordType,
  recordLength,
} from './record.js';

/** A whole, checksum-verified record met by {@link scanSegment}. */
export interface ScannedRecord {
  readonly type: RecordType;
  readonly id: string;
  /** Offset of the record in its segment. */
  readonly offset: number;
  /** Bytes of the whole record. */
  readonly length: number;
  readonly meta: Buffer;
  readonly data: Buffer;
}

/** Where a scan stopped. */
export interface ScanEnd {
  /** The end of the last valid record: the segment's good length. */
  readonly end: number;
  /** Why the scan stopped before `size`, when it did. */
  readonly problem?: string | undefined;
}

const CHUNK = 1 << 20;

/**
 * Reads a segment front to back in 1 MiB chunks and hands each valid record to `visit` (awaited
 * when it returns a promise). Stops at the first record that runs past `size` or fails its
 * checksum, and says where. Record buffers are fresh per chunk, so `visit` may keep them.
 */
export async function scanSegment(
  fh: FileHandle,
  size: number,
  visit: (record: ScannedRecord) => void | Promise<void>,
): Promise<ScanEnd> {
  let base = 0; // file offset of buf[0]
  let buf: Buffer = Buffer.alloc(0);
  let at = 0; // offset in buf
  while (base + at < size) {
    const offset = base + at;
    if (buf.length - at < HEADER_SIZE) {
      if (size - offset < HEADER_SIZE) return { end: offset, problem: 'truncated record header' };
      ({ buf, base, at } = await load(fh, offset, Math.min(CHUNK, size - offset)));
      if (buf.length < HEADER_SIZE) return { end: offset, problem: 'short read' };
      continue;
    }
    const header = decodeHeader(buf, at);
    if (typeof header === 'string') return { end: offset, problem: header };
    const length = recordLength(header);
    if (offset + length > size) return { end: offset, problem: 'truncated record' };
    if (buf.length - at < length) {
      ({ buf, base, at } = await load(
        fh,
        offset,
        Math.max(length, Math.min(CHUNK, size - offset)),
      ));
      if (buf.length < length) return { end: offset, problem: 'short read' };
      continue;
    }
    const record = buf.subarray(at, at + length);
    if (!checksumMatches(record, header)) return { end: offset, problem: 'checksum mismatch' };
    const result = visit(toScanned(record, header, offset));
    if (result !== undefined) await result;
    at += length;
  }
  return { end: base + at };
}

async function load(
  fh: FileHandle,
  offset: number,
  length: number,
): Promise<{ buf: Buffer; base: number; at: number }> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return { buf: buf.subarray(0, got), base: offset, at: 0 };
}

function toScanned(record: Buffer, header: RecordHeader, offset: number): ScannedRecord {
  const metaEnd = HEADER_SIZE + header.metaLength;
  return {
    type: header.type,
    id: header.id,
    offset,
    length: record.length,
    meta: record.subarray(HEADER_SIZE, metaEnd),
    data: record.subarray(metaEnd),
  };
}
