import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  type HeaderBlock,
  makeField,
  parseHeaderBlock,
  serializeHeaderBlock,
} from './header-block.js';

/** KumoMTA's conformance labels, in the order its messages list them. */
export const CONFORMANCE_LABELS = [
  'MISSING_COLON_VALUE',
  'NON_CANONICAL_LINE_ENDINGS',
  'NAME_ENDS_WITH_SPACE',
  'LINE_TOO_LONG',
  'NEEDS_TRANSFER_ENCODING',
  'MISSING_DATE_HEADER',
  'MISSING_MESSAGE_ID_HEADER',
  'MISSING_MIME_VERSION',
] as const;

/** One conformance issue. */
export type ConformanceIssue = (typeof CONFORMANCE_LABELS)[number];

// RFC 5322's hard limit. KumoMTA's parser flags lines longer than its wrapping width; the
// hard limit is the conservative reading (no false rejections when the label is a check).
const MAX_LINE = 998;

/** Parses `'A|B'` into labels. @throws a string naming an unknown label. */
export function parseIssues(text: unknown, what: string): Set<ConformanceIssue> {
  const out = new Set<ConformanceIssue>();
  if (typeof text !== 'string' || text.trim() === '') return out;
  for (const raw of text.split('|')) {
    const label = raw.trim();
    if (!(CONFORMANCE_LABELS as readonly string[]).includes(label)) {
      throw `check_fix_conformance: unknown ${what} label '${label}'`;
    }
    out.add(label as ConformanceIssue);
  }
  return out;
}

/** The conformance issues of a message. */
export function findIssues(data: Uint8Array): Set<ConformanceIssue> {
  const issues = new Set<ConformanceIssue>();
  let lineStart = 0;
  let inHeaders = true;
  let eightBit = false;
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    if (c >= 0x80) eightBit = true;
    if (c === 0x0d && data[i + 1] !== 0x0a) issues.add('NON_CANONICAL_LINE_ENDINGS');
    if (c !== 0x0a) continue;
    if (i === 0 || data[i - 1] !== 0x0d) issues.add('NON_CANONICAL_LINE_ENDINGS');
    const end = i > 0 && data[i - 1] === 0x0d ? i - 1 : i;
    if (end - lineStart > MAX_LINE) issues.add('LINE_TOO_LONG');
    if (inHeaders) {
      if (end === lineStart) inHeaders = false;
      else if (data[lineStart] !== 0x20 && data[lineStart] !== 0x09) {
        const line = Buffer.from(data.subarray(lineStart, end)).toString('latin1');
        const colon = line.indexOf(':');
        if (colon < 0) issues.add('MISSING_COLON_VALUE');
        else if (/[ \t]$/.test(line.slice(0, colon))) issues.add('NAME_ENDS_WITH_SPACE');
      }
    }
    lineStart = i + 1;
  }
  const block = parseHeaderBlock(data);
  const value = (name: string) =>
    block.fields
      .find((f) => f.name.trim().toLowerCase() === name)
      ?.raw.replace(/^[^:]*:/, '')
      .trim();
  if (value('date') === undefined) issues.add('MISSING_DATE_HEADER');
  if (value('message-id') === undefined) issues.add('MISSING_MESSAGE_ID_HEADER');
  if (value('mime-version') !== '1.0') issues.add('MISSING_MIME_VERSION');
  const cte = (value('content-transfer-encoding') ?? '').toLowerCase();
  if (eightBit && cte !== '8bit' && cte !== 'binary') issues.add('NEEDS_TRANSFER_ENCODING');
  return issues;
}

/**
 * Applies the fixes Sterna can make without rebuilding the MIME tree: CRLF line endings, header
 * names ending with spaces, and the missing Date, Message-ID and MIME-Version headers. (Long
 * lines and 8-bit content would need the message re-encoded: they are left as they are.)
 */
export function applyFixes(data: Uint8Array, fixes: ReadonlySet<ConformanceIssue>): Uint8Array {
  let bytes = data;
  if (fixes.has('NON_CANONICAL_LINE_ENDINGS')) {
    const text = Buffer.from(bytes)
      .toString('latin1')
      .replace(/\r\n|\r|\n/g, '\r\n');
    bytes = Buffer.from(text, 'latin1');
  }
  const block: HeaderBlock = parseHeaderBlock(bytes);
  if (fixes.has('NAME_ENDS_WITH_SPACE')) {
    block.fields.forEach((f, i) => {
      const colon = f.raw.indexOf(':');
      block.fields[i] = {
        name: f.name.trim(),
        raw: f.raw.slice(0, colon).trimEnd() + f.raw.slice(colon),
      };
    });
  }
  const has = (name: string) => block.fields.some((f) => f.name.trim().toLowerCase() === name);
  if (fixes.has('MISSING_DATE_HEADER') && !has('date')) {
    block.fields.push(
      makeField('Date', new Date().toUTCString().replace('GMT', '+0000'), false, block.eol),
    );
  }
  if (fixes.has('MISSING_MESSAGE_ID_HEADER') && !has('message-id')) {
    block.fields.push(makeField('Message-ID', `<${randomUUID()}@${hostname()}>`, false, block.eol));
  }
  if (fixes.has('MISSING_MIME_VERSION')) {
    const at = block.fields.findIndex((f) => f.name.trim().toLowerCase() === 'mime-version');
    const field = makeField('MIME-Version', '1.0', false, block.eol);
    if (at < 0) block.fields.push(field);
    else block.fields[at] = field;
  }
  return serializeHeaderBlock(block);
}
