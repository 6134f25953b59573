import { crc32 } from './crc32.js';

// One record of the segment log, little-endian:
//   0  u32  magic 'SPL1'
//   4  u32  CRC-32 of every byte after this field (header rest, meta, data)
//   8  u8   type (STORE, UPDATE, REMOVE)      9  u8 version (1)     10 u16 reserved (0)
//  12  u32  meta length                       16 u32 data length
//  20  16B  spool id (binary)
//  36  meta (UTF-8 JSON), then data
// A torn write leaves a record whose length runs past the file end or whose CRC fails.

/** The record magic, 'SPL1' read as a little-endian u32. */
export const RECORD_MAGIC = 0x314c5053;
/** Bytes before a record's meta. */
export const HEADER_SIZE = 36;
/** A new message: meta and data. */
export const STORE = 1;
/** New metadata for a stored message. */
export const UPDATE = 2;
/** A message forgotten; meta `{"segment":N}` names the segment holding its data. */
export const REMOVE = 3;
/** The kinds of record. */
export type RecordType = typeof STORE | typeof UPDATE | typeof REMOVE;

/** A record's header fields. */
export interface RecordHeader {
  readonly type: RecordType;
  readonly crc: number;
  readonly metaLength: number;
  readonly dataLength: number;
  readonly id: string;
}

/**
 * The header and meta of a record as one buffer; the data (for STORE) is written after it
 * as its own buffer, so message bytes are never copied.
 */
export function encodeRecord(
  type: RecordType,
  id: string,
  meta: Uint8Array,
  data?: Uint8Array,
): Buffer {
  const head = Buffer.allocUnsafe(HEADER_SIZE + meta.length);
  head.writeUInt32LE(RECORD_MAGIC, 0);
  head.writeUInt8(type, 8);
  head.writeUInt8(1, 9);
  head.writeUInt16LE(0, 10);
  head.writeUInt32LE(meta.length, 12);
  head.writeUInt32LE(data?.length ?? 0, 16);
  head.write(id, 20, 16, 'hex');
  head.set(meta, HEADER_SIZE);
  let crc = crc32(head.subarray(8));
  if (data !== undefined) crc = crc32(data, crc);
  head.writeUInt32LE(crc, 4);
  return head;
}

/** The header at `at`, or why it is not one. Needs `HEADER_SIZE` bytes. */
export function decodeHeader(buf: Buffer, at: number): RecordHeader | string {
  if (buf.readUInt32LE(at) !== RECORD_MAGIC) return 'bad magic';
  const type = buf.readUInt8(at + 8);
  if (type !== STORE && type !== UPDATE && type !== REMOVE) return `unknown record type ${type}`;
  if (buf.readUInt8(at + 9) !== 1) return `unknown record version ${buf.readUInt8(at + 9)}`;
  return new DecodedHeader(
    type,
    buf.readUInt32LE(at + 4),
    buf.readUInt32LE(at + 12),
    buf.readUInt32LE(at + 16),
    buf,
    at + ID_AT,
  );
}

/** Where a record's 16 id bytes start, from the start of its header. */
export const ID_AT = 20;

// The id is made into text only when asked for: a replay meets every record and needs its
// id's bytes, not a string of them.
class DecodedHeader implements RecordHeader {
  constructor(
    readonly type: RecordType,
    readonly crc: number,
    readonly metaLength: number,
    readonly dataLength: number,
    private readonly buf: Buffer,
    private readonly idAt: number,
  ) {}

  get id(): string {
    return this.buf.toString('hex', this.idAt, this.idAt + 16);
  }
}

/** Total bytes of a record with this header. */
export function recordLength(header: RecordHeader): number {
  return HEADER_SIZE + header.metaLength + header.dataLength;
}

/** True when the whole record (its header at `at` in `buf`) matches its checksum. */
export function checksumMatches(buf: Buffer, header: RecordHeader, at = 0): boolean {
  const end = Math.min(buf.length, at + recordLength(header));
  if (end < at + 8) return false;
  // A plain view: cheaper than a Buffer's subarray, once per record of a replay.
  const covered = new Uint8Array(buf.buffer, buf.byteOffset + at + 8, end - at - 8);
  return crc32(covered) === header.crc;
}
