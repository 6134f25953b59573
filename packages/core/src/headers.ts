/** One header field as it appears in a message: unfolded value, original name spelling. */
export interface HeaderField {
  readonly name: string;
  readonly value: string;
}

/**
 * Bytes as Latin-1 text, one character per byte (U+0000–U+00FF). Not `TextDecoder('latin1')`:
 * the Encoding Standard reads that label as windows-1252, and Node 24 follows it (0x80–0x9F
 * become €, Ÿ…), which changes raw 8-bit header bytes and DKIM signatures made over them.
 */
export function latin1Text(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** The byte offset where the body starts (after the blank line), or the length if none. */
export function headerBlockEnd(data: Uint8Array): number {
  for (let i = 0; i < data.length; i++) {
    if (data[i] !== 0x0a) continue;
    if (data[i + 1] === 0x0a) return i + 2;
    if (data[i + 1] === 0x0d && data[i + 2] === 0x0a) return i + 3;
  }
  return data.length;
}

/**
 * Parses the header block of an RFC 5322 message. Folded lines are unfolded (the line break
 * removed, the white space kept); values are trimmed; a line without a colon ends the block.
 * Bytes are read as Latin-1 so nothing is lost; decoding RFC 2047 words is the caller's choice.
 */
export function parseHeaders(data: Uint8Array): HeaderField[] {
  const text = latin1Text(data.subarray(0, headerBlockEnd(data)));
  const fields: HeaderField[] = [];
  let name: string | undefined;
  let value = '';
  const flush = () => {
    if (name !== undefined) fields.push({ name, value: value.trim() });
    name = undefined;
  };
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    if ((line[0] === ' ' || line[0] === '\t') && name !== undefined) {
      value += line;
      continue;
    }
    flush();
    const colon = line.indexOf(':');
    if (colon <= 0) break;
    name = line.slice(0, colon).trimEnd();
    value = line.slice(colon + 1);
  }
  flush();
  return fields;
}
