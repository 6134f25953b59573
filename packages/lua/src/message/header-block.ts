import { headerBlockEnd, latin1Text } from '@sterna/core/engine';
import libmime from 'libmime';

/** One header field as it sits in the message: its name and its exact text (with folding). */
export interface RawHeaderField {
  readonly name: string;
  /** `Name: value\r\n`, continuation lines included, as Latin-1 (one char per byte). */
  readonly raw: string;
}

/** A message split into its header fields and everything after them, byte-exact. */
export interface HeaderBlock {
  readonly fields: RawHeaderField[];
  /** The blank line and body, untouched (empty for a message that is all headers). */
  readonly rest: Uint8Array;
  /** The line ending new header lines get: the message's own. */
  readonly eol: '\r\n' | '\n';
}

const utf8 = new TextDecoder('utf-8');

/**
 * Reads a message's header block; bytes map one-to-one onto Latin-1 characters. Only the
 * header block is decoded: the body stays bytes, however large.
 */
export function parseHeaderBlock(data: Uint8Array): HeaderBlock {
  const text = latin1Text(data.subarray(0, headerBlockEnd(data)));
  const fields: RawHeaderField[] = [];
  const firstLf = text.indexOf('\n');
  const eol = firstLf > 0 && text[firstLf - 1] !== '\r' ? '\n' : '\r\n';
  let at = 0;
  while (at < text.length) {
    const c = text[at];
    if (c === '\r' || c === '\n') break;
    let end = lineEnd(text, at);
    const line = text.slice(at, end);
    const colon = line.indexOf(':');
    if (colon <= 0 || c === ' ' || c === '\t') break;
    // Continuation lines start with white space.
    while (end < text.length && (text[end] === ' ' || text[end] === '\t')) end = lineEnd(text, end);
    fields.push({ name: line.slice(0, colon).trimEnd(), raw: text.slice(at, end) });
    at = end;
  }
  return { fields, rest: data.subarray(at), eol };
}

function lineEnd(text: string, from: number): number {
  const lf = text.indexOf('\n', from);
  return lf < 0 ? text.length : lf + 1;
}

/** The message bytes for a (possibly edited) header block. */
export function serializeHeaderBlock(block: HeaderBlock): Uint8Array {
  let text = '';
  for (const f of block.fields) text += f.raw;
  const out = new Uint8Array(text.length + block.rest.length);
  out.set(latin1Bytes(text));
  out.set(block.rest, text.length);
  return out;
}

function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/**
 * The value of a field as a policy sees it: unfolded, trimmed, raw 8-bit bytes read as UTF-8
 * (RFC 6532), and RFC 2047 encoded words decoded.
 */
export function decodeFieldValue(field: RawHeaderField): string {
  let value = field.raw.slice(field.raw.indexOf(':') + 1).replace(/\r?\n(?=[ \t])/g, '');
  value = value.replace(/\r?\n$/, '').trim();
  // biome-ignore lint/suspicious/noControlCharactersInRegex: detecting 8-bit bytes on purpose
  if (/[^\x00-\x7f]/.test(value)) value = utf8.decode(latin1Bytes(value));
  if (!value.includes('=?')) return value;
  try {
    return libmime.decodeWords(value);
  } catch {
    // A malformed encoded word: give the raw value, as KumoMTA does since 2026.04.09.
    return value;
  }
}

/** Lowercased name comparison, as header names are case-insensitive. */
export function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * A new field. `value` is UTF-8 text; with `encode`, non-ASCII words become RFC 2047 encoded
 * words and long lines are folded near 76 columns; without it the value is written as given.
 */
export function makeField(
  name: string,
  value: string,
  encode: boolean,
  eol: string,
): RawHeaderField {
  let line = `${name}: ${value}`;
  if (encode) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: detecting non-ASCII on purpose
    const encoded = /[^\x00-\x7f]/.test(value) ? libmime.encodeWords(value, 'Q', 52) : value;
    line = libmime.foldLines(`${name}: ${encoded}`, 76, true).replace(/\r?\n/g, eol);
  }
  const bytes = new TextEncoder().encode(`${line}${eol}`);
  return { name, raw: latin1Text(bytes) };
}
