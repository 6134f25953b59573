import { isSpoolId, spoolIdTime } from '@sterna/core/engine';

// The Gregorian epoch's offset from the Unix epoch in 100-ns ticks, split at 2^32.
const OFFSET_HI = 0x01b21dd2;
const OFFSET_LO = 0x13814000;

/**
 * A queued message's creation time (epoch ms), read from its id: {@link spoolIdTime} without
 * BigInt arithmetic (asked once per spooled message at a restart, and for each log record and
 * failed attempt). The ticks split at 2^32, and 2^32 = 429,496 × 10,000 + 7,296, keep every
 * step exact. Not kept on the message: a double field costs a waiting message 24 bytes.
 *
 * @throws SternaError `STERNA_SPOOL_ID_INVALID`
 */
export function createdOf(id: string): number {
  if (!isSpoolId(id)) return spoolIdTime(id); // throws, naming the id
  const low = Number.parseInt(id.slice(0, 8), 16);
  const high =
    Number.parseInt(id.slice(13, 16), 16) * 65_536 + Number.parseInt(id.slice(8, 12), 16);
  const dh = high - OFFSET_HI;
  if (dh < 0) return spoolIdTime(id); // before 1970
  return dh * 429_496 + Math.floor((dh * 7_296 + low - OFFSET_LO) / 10_000);
}
