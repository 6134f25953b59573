import type { MetaValue } from '@sterna/core';
import { spoolError } from './errors.js';
import type { SpoolEntry } from './types.js';

// The record's JSON, as written since the first release: the key names are on disk, so they do
// not follow the in-memory names (`numAttempts` here is `SpoolEntry.num_attempts`).
interface StoredMeta {
  sender: string;
  recipients: string[];
  meta: Record<string, MetaValue>;
  due?: number;
  numAttempts?: number;
}

/**
 * The metadata of a record as UTF-8 JSON (the size is the record's data length, the id is in
 * the header).
 *
 * @throws SternaError `STERNA_SPOOL_WRITE` when the meta cannot be serialised
 */
export function encodeMeta(entry: SpoolEntry): Buffer {
  const stored: StoredMeta = {
    sender: entry.sender,
    recipients: [...entry.recipients],
    meta: entry.meta as Record<string, MetaValue>,
  };
  if (entry.due !== undefined) stored.due = entry.due;
  if (entry.num_attempts !== undefined) stored.numAttempts = entry.num_attempts;
  try {
    return Buffer.from(JSON.stringify(stored), 'utf8');
  } catch (error) {
    throw spoolError(
      'STERNA_SPOOL_WRITE',
      `metadata of ${entry.id} cannot be stored as JSON: ${String(error)}`,
      error,
    );
  }
}

/**
 * The meta object of the record decoded last, and its JSON: a run of records with the same meta
 * (the messages of one connection or one injection request) parses it once, and the entries
 * share the object.
 */
export interface MetaCache {
  text: string | undefined;
  meta: Record<string, MetaValue> | undefined;
}

/**
 * A spool entry from the JSON of a record. With `cache`, a meta equal to the one decoded last is
 * not parsed again: the entry gets the same object (which nobody may then change in place).
 */
export function decodeMeta(
  id: string,
  size: number,
  json: Uint8Array | string,
  cache?: MetaCache,
): SpoolEntry {
  const text =
    typeof json === 'string'
      ? json
      : Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8');
  const stored =
    (cache !== undefined ? parseReusingMeta(text, cache) : undefined) ??
    (JSON.parse(text) as StoredMeta);
  const entry: {
    -readonly [K in keyof SpoolEntry]: SpoolEntry[K];
  } = {
    id,
    sender: stored.sender,
    recipients: stored.recipients,
    meta: stored.meta,
    size,
  };
  if (stored.due !== undefined) entry.due = stored.due;
  if (stored.numAttempts !== undefined) entry.num_attempts = stored.numAttempts;
  return entry;
}

const META_KEY = ',"meta":';
const DUE_KEY = ',"due":';
const ATTEMPTS_KEY = ',"numAttempts":';

/**
 * {@link encodeMeta}'s JSON parsed in two parts around its meta object, which is parsed only
 * when it differs from the cached one. Undefined (the caller parses the whole text) for anything
 * not laid out as encodeMeta writes it: `{"sender":…,"recipients":[…],"meta":{…}` then
 * optionally `,"due":N` and `,"numAttempts":N`, then `}`.
 *
 * The first `,"meta":` is the top-level key: a JSON string cannot hold an unescaped quote, and
 * the text before it parses, closed with one `}`, only if the cut is at the top level. The meta
 * text between it and the numbers at the end parses only if it is one whole value.
 */
function parseReusingMeta(text: string, cache: MetaCache): StoredMeta | undefined {
  if (!text.startsWith('{"sender":') || text.charCodeAt(text.length - 1) !== 0x7d) return undefined;
  const at = text.indexOf(META_KEY);
  if (at < 0) return undefined;
  let end = text.length - 1; // the closing brace
  let numAttempts: number | undefined;
  let due: number | undefined;
  let from = end;
  while (from > at && isDigit(text.charCodeAt(from - 1))) from--;
  if (from < end && text.endsWith(ATTEMPTS_KEY, from)) {
    numAttempts = Number(text.slice(from, end));
    end = from - ATTEMPTS_KEY.length;
  }
  from = end;
  while (from > at && isNumberChar(text.charCodeAt(from - 1))) from--;
  if (from < end && text.endsWith(DUE_KEY, from)) {
    due = Number(text.slice(from, end));
    end = from - DUE_KEY.length;
  }
  if (!Number.isFinite(due ?? 0) || !Number.isFinite(numAttempts ?? 0)) return undefined;
  const metaText = text.slice(at + META_KEY.length, end);
  if (metaText.charCodeAt(0) !== 0x7b || metaText.charCodeAt(metaText.length - 1) !== 0x7d)
    return undefined;
  try {
    const head = JSON.parse(`${text.slice(0, at)}}`) as Partial<StoredMeta>;
    let meta = cache.meta;
    if (metaText !== cache.text || meta === undefined) {
      meta = JSON.parse(metaText) as Record<string, MetaValue>;
      cache.text = metaText;
      cache.meta = meta;
    }
    return {
      sender: head.sender as string,
      recipients: head.recipients as string[],
      meta,
      // Keys met twice: the last one counts, as in JSON.parse.
      due: due ?? head.due,
      numAttempts: numAttempts ?? head.numAttempts,
    };
  } catch {
    return undefined;
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

// Digits, '.', 'e', 'E', '+', '-': what JSON.stringify writes for a number.
function isNumberChar(c: number): boolean {
  return isDigit(c) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}
