import { crc32 as zlibCrc32 } from 'node:zlib';

// CRC-32 (IEEE 802.3, the one zlib and gzip use), from zlib's native code (Node ≥ 20.15): every
// record is checksummed on write and on read, and a JavaScript table loop cost ~1 µs per KiB.

/** The CRC-32 of `bytes`, continuing from `crc` (0 to start). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  return zlibCrc32(bytes, crc);
}
