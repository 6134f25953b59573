import { SternaError } from './errors.js';

// 100-ns intervals between the Gregorian epoch (1582-10-15) and the Unix epoch.
const GREGORIAN_OFFSET = 0x01b21dd213814000n;
const ID = /^[0-9a-f]{32}$/;

function randomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

// One random node (multicast bit set, as RFC 9562 asks for random nodes) and clock sequence
// per process; a counter of 100-ns ticks keeps ids unique within a millisecond.
const node = randomBytes(6);
node[0]! |= 0x01;
const nodeHex = Buffer.from(node).toString('hex');
const clockSeq = ((randomBytes(2)[0]! << 8) | randomBytes(1)[0]!) & 0x3fff;
const clockSeqHex = (clockSeq | 0x8000).toString(16).padStart(4, '0');
let lastTicks = 0n;

/**
 * A new spool id in KumoMTA's form: a version 1 UUID as 32 lowercase hex characters, whose
 * embedded time is the message's creation time.
 */
export function newSpoolId(now: number = Date.now()): string {
  let ticks = BigInt(Math.floor(now)) * 10_000n + GREGORIAN_OFFSET;
  if (ticks <= lastTicks) ticks = lastTicks + 1n;
  lastTicks = ticks;
  const timeLow = (ticks & 0xffffffffn).toString(16).padStart(8, '0');
  const timeMid = ((ticks >> 32n) & 0xffffn).toString(16).padStart(4, '0');
  const timeHi = (((ticks >> 48n) & 0x0fffn) | 0x1000n).toString(16).padStart(4, '0');
  return `${timeLow}${timeMid}${timeHi}${clockSeqHex}${nodeHex}`;
}

/** True for 32 lowercase hex characters of a version 1 UUID. */
export function isSpoolId(id: string): boolean {
  return ID.test(id) && id[12] === '1';
}

/**
 * Throws unless `id` is a spool id ({@link isSpoolId}), naming it.
 *
 * @throws SternaError `STERNA_SPOOL_ID_INVALID`
 */
export function assertSpoolId(id: string): void {
  if (!isSpoolId(id)) {
    throw new SternaError(
      'STERNA_SPOOL_ID_INVALID',
      `'${id}' is not a spool id (32 lowercase hex characters of a v1 UUID)`,
    );
  }
}

// GREGORIAN_OFFSET split at 2^32, for the arithmetic below.
const OFFSET_HI = 0x01b21dd2;
const OFFSET_LO = 0x13814000;

/**
 * The creation time (epoch milliseconds) embedded in a spool id; KumoMTA's log `created`.
 * Asked for every spooled message at a restart and for each log record, so it avoids BigInt:
 * the 60-bit tick count is taken as two halves split at 2^32, and 2^32 = 429,496 × 10,000 +
 * 7,296 keeps every step an exact integer below 2^53. Ids from before 1970 take the BigInt way
 * (its division rounds toward zero).
 *
 * @throws SternaError `STERNA_SPOOL_ID_INVALID`
 */
export function spoolIdTime(id: string): number {
  assertSpoolId(id);
  const low = Number.parseInt(id.slice(0, 8), 16);
  const high =
    Number.parseInt(id.slice(13, 16), 16) * 65_536 + Number.parseInt(id.slice(8, 12), 16);
  const dh = high - OFFSET_HI;
  const time = dh * 429_496 + Math.floor((dh * 7_296 + low - OFFSET_LO) / 10_000);
  if (time >= 0) return time;
  const ticks = (BigInt(high) << 32n) | BigInt(low);
  return Number((ticks - GREGORIAN_OFFSET) / 10_000n);
}
