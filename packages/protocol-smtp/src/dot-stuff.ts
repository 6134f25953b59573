const DOT = 0x2e;
const LF = 0x0a;
const CR = 0x0d;
const STUFF = Buffer.from('.');
const CRLF = Buffer.from('\r\n');
const END = Buffer.from('.\r\n');

/**
 * The DATA payload for a message, as chunks to write in order: the bytes as queued with a dot
 * doubled at the start of every line (RFC 5321 §4.5.2), a final CRLF when the message lacks
 * one, and the `.` line. Chunks are views of the message where possible: no copy of the body
 * is made when no line starts with a dot.
 */
export function dataChunks(data: Uint8Array): Uint8Array[] {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const chunks: Uint8Array[] = [];
  let start = 0;
  if (bytes.length > 0 && bytes[0] === DOT) {
    chunks.push(STUFF);
  }
  let at = bytes.indexOf('\n.', 0, 'latin1');
  while (at >= 0) {
    chunks.push(bytes.subarray(start, at + 1), STUFF);
    start = at + 1;
    at = bytes.indexOf('\n.', start, 'latin1');
  }
  if (start < bytes.length) chunks.push(bytes.subarray(start));
  const n = bytes.length;
  if (n > 0 && !(bytes[n - 2] === CR && bytes[n - 1] === LF)) chunks.push(CRLF);
  chunks.push(END);
  return chunks;
}

/** True when the data holds a byte above 127 (so `BODY=8BITMIME` is declared). */
export function hasEightBit(data: Uint8Array): boolean {
  for (let i = 0; i < data.length; i++) if (data[i]! > 127) return true;
  return false;
}
