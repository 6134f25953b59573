const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/**
 * The DATA payload for a message: every line that starts with `.` gets another `.` (RFC 5321
 * §4.5.2), the data ends with CRLF, and the terminating `.` CRLF follows.
 */
export function dotStuff(data: Uint8Array): Uint8Array {
  let dots = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] === DOT && (i === 0 || data[i - 1] === LF)) dots++;
  }
  const endsWithCrlf = data.length >= 2 && data[data.length - 2] === CR && data.at(-1) === LF;
  const tail = endsWithCrlf || data.length === 0 ? 3 : 5;
  const out = new Uint8Array(data.length + dots + tail);
  let o = 0;
  for (let i = 0; i < data.length; i++) {
    const byte = data[i]!;
    if (byte === DOT && (i === 0 || data[i - 1] === LF)) out[o++] = DOT;
    out[o++] = byte;
  }
  if (!endsWithCrlf && data.length > 0) {
    out[o++] = CR;
    out[o++] = LF;
  }
  out[o++] = DOT;
  out[o++] = CR;
  out[o++] = LF;
  return out;
}
