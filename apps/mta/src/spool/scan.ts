import type { FileHandle } from 'node:fs/promises';
import {
  checksumMatches,
  decodeHeader,
  HEADER_SIZE,
  ID_AT,
  type RecordHeader,
  type RecordType,
  recordLength,
} from './record.js';

/** A whole, checksum-verified record met by {@link scanSegment}. */
export interface ScannedRecord {
  readonly type: RecordType;
  readonly id: string;
  /** Where the id's 16 bytes are in {@link buffer}. */
  readonly idAt: number;
  /** Offset of the record in its segment. */
  readonly offset: number;
  /** Bytes of the whole record. */
  readonly length: number;
  readonly metaLength: number;
  readonly dataLength: number;
  /** The chunk read from the file, and where the record's meta starts in it. */
  readonly buffer: Buffer;
  readonly metaStart: number;
  /** Views into {@link buffer}, made when asked for. */
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
 * Memory a scan reads into, again and again, when its visitor keeps nothing of a record's
 * buffer: the first write to new memory costs more than the read on some machines.
 */
export interface ScanScratch {
  buf?: Buffer;
}

/**
 * Reads a segment front to back in 1 MiB chunks and hands each valid record to `visit` (awaited
 * when it returns a promise). Stops at the first record that runs past `size` or fails its
 * checksum, and says where. Record buffers are fresh per chunk, so `visit` may keep them, unless
 * `scratch` is given: then each chunk is read into the same memory.
 */
export async function scanSegment(
  fh: FileHandle,
  size: number,
  visit: (record: ScannedRecord) => void | Promise<void>,
  start = 0,
  scratch?: ScanScratch,
): Promise<ScanEnd> {
  let base = start; // file offset of buf[0]
  let buf: Buffer = Buffer.alloc(0);
  let at = 0; // offset in buf
  while (base + at < size) {
    const offset = base + at;
    if (buf.length - at < HEADER_SIZE) {
      if (size - offset < HEADER_SIZE) return { end: offset, problem: 'truncated record header' };
      ({ buf, base, at } = await load(fh, offset, Math.min(CHUNK, size - offset), scratch));
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
        scratch,
      ));
      if (buf.length < length) return { end: offset, problem: 'short read' };
      continue;
    }
    if (!checksumMatches(buf, header, at)) return { end: offset, problem: 'checksum mismatch' };
    const result = visit(new Scanned(header, buf, at, offset));
    if (result !== undefined) await result;
    at += length;
  }
  return { end: base + at };
}

/** A stretch of a segment that holds no valid record. */
export interface Damage {
  readonly from: number;
  readonly to: number;
  readonly problem: string;
}

/** Where {@link scanAll} stopped, and the damaged stretches it skipped. */
export interface ScanReport extends ScanEnd {
  /** Damaged stretches followed by valid records (not a torn tail). */
  readonly damage: readonly Damage[];
}

/**
 * {@link scanSegment} that does not give up at damage: it looks for the next valid record
 * (magic, sane header, matching checksum) and goes on from there. Only a stretch with no valid
 * record after it is reported as the end (`problem`): that is a torn tail. It starts at `from`,
 * which must be where a record starts; `scratch` as for {@link scanSegment}.
 */
export async function scanAll(
  fh: FileHandle,
  size: number,
  visit: (record: ScannedRecord) => void | Promise<void>,
  from = 0,
  scratch?: ScanScratch,
): Promise<ScanReport> {
  const damage: Damage[] = [];
  let start = from;
  for (;;) {
    const end = await scanSegment(fh, size, visit, start, scratch);
    if (end.problem === undefined) return { ...end, damage };
    const next = await findRecord(fh, end.end + 1, size);
    if (next === undefined) return { ...end, damage };
    damage.push({ from: end.end, to: next, problem: end.problem });
    start = next;
  }
}

const MAGIC_BYTES = Buffer.from([0x53, 0x50, 0x4c, 0x31]); // RECORD_MAGIC, little-endian

/** The offset of the first valid record at or after `from`, if any. */
export async function findRecord(
  fh: FileHandle,
  from: number,
  size: number,
): Promise<number | undefined> {
  for (let pos = from; pos + HEADER_SIZE <= size; ) {
    const { buf } = await load(fh, pos, Math.min(CHUNK, size - pos));
    if (buf.length === 0) return undefined;
    let i = buf.indexOf(MAGIC_BYTES);
    while (i >= 0) {
      if (await validAt(fh, pos + i, size)) return pos + i;
      i = buf.indexOf(MAGIC_BYTES, i + 1);
    }
    // Step back 3 bytes so a magic split across chunks is still found.
    pos += Math.max(1, buf.length - 3);
  }
  return undefined;
}

async function validAt(fh: FileHandle, offset: number, size: number): Promise<boolean> {
  if (offset + HEADER_SIZE > size) return false;
  const { buf: head } = await load(fh, offset, HEADER_SIZE);
  if (head.length < HEADER_SIZE) return false;
  const header = decodeHeader(head, 0);
  if (typeof header === 'string') return false;
  const length = recordLength(header);
  if (offset + length > size) return false;
  const { buf } = await load(fh, offset, length);
  return buf.length === length && checksumMatches(buf, header);
}

async function load(
  fh: FileHandle,
  offset: number,
  length: number,
  scratch?: ScanScratch,
): Promise<{ buf: Buffer; base: number; at: number }> {
  let buf: Buffer;
  if (scratch === undefined) buf = Buffer.allocUnsafe(length);
  else {
    if (scratch.buf === undefined || scratch.buf.length < length)
      scratch.buf = Buffer.allocUnsafeSlow(Math.max(length, CHUNK));
    buf = scratch.buf;
  }
  const got = await readInto(fh, buf, offset, length);
  return { buf: buf.subarray(0, got), base: offset, at: 0 };
}

/**
 * Reads `length` bytes (all of `buf` by default) at `position` into `buf`, as many reads as it
 * takes; fewer at the end of the file. Resolves to the bytes read.
 */
export async function readInto(
  fh: FileHandle,
  buf: Buffer,
  position: number,
  length = buf.length,
): Promise<number> {
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

// A replay meets every record of the spool: the views of its meta and data are made only when
// a visitor asks for them (compaction copies), not for every record (recovery needs none).
class Scanned implements ScannedRecord {
  readonly metaStart: number;
  readonly idAt: number;
  constructor(
    private readonly header: RecordHeader,
    readonly buffer: Buffer,
    at: number,
    readonly offset: number,
  ) {
    this.metaStart = at + HEADER_SIZE;
    this.idAt = at + ID_AT;
  }
  get type(): RecordType {
    return this.header.type;
  }
  get id(): string {
    return this.header.id;
  }
  get length(): number {
    return HEADER_SIZE + this.header.metaLength + this.header.dataLength;
  }
  get metaLength(): number {
    return this.header.metaLength;
  }
  get dataLength(): number {
    return this.header.dataLength;
  }
  get meta(): Buffer {
    return this.buffer.subarray(this.metaStart, this.metaStart + this.header.metaLength);
  }
  get data(): Buffer {
    const start = this.metaStart + this.header.metaLength;
    return this.buffer.subarray(start, start + this.header.dataLength);
  }
}
