import type { HeaderField, MetaValue } from '@sterna/core';
import libmime from 'libmime';

/** `name*` matches every name starting with `name`; anything else matches itself only. */
function wildcardPrefix(pattern: string): string | undefined {
  return pattern.endsWith('*') ? pattern.slice(0, -1) : undefined;
}

/**
 * The meta keys a logger records, as KumoMTA picks them: exactly the listed names
 * (case-sensitive) whose value is not null, plus every key starting with `prefix` for a
 * `prefix*` entry (null values included, as KumoMTA copies them).
 */
export function selectMeta(
  meta: Readonly<Record<string, MetaValue>>,
  names: readonly string[],
): Record<string, MetaValue> {
  const out: Record<string, MetaValue> = {};
  for (const name of names) {
    const prefix = wildcardPrefix(name);
    if (prefix === undefined) {
      const value = meta[name];
      if (value !== undefined && value !== null && Object.hasOwn(meta, name)) out[name] = value;
      continue;
    }
    for (const key of Object.keys(meta)) {
      if (key.startsWith(prefix)) out[key] = meta[key] as MetaValue;
    }
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A header value as KumoMTA logs it: unfolded, RFC 2047 encoded words decoded (it reads headers
 * as "unstructured" text). Values parsed as Latin-1 (core's `parseHeaders`) that are really
 * UTF-8 (SMTPUTF8 mail) are read back as UTF-8.
 */
export function headerText(raw: string): string {
  let value = raw;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: testing for non-ASCII on purpose
  if (/[^\x00-\x7f]/.test(value) && !/[^\x00-\xff]/.test(value)) {
    try {
      value = utf8.decode(Buffer.from(value, 'latin1'));
    } catch {
      // Not UTF-8: keep the Latin-1 reading.
    }
  }
  return value.includes('=?') ? libmime.decodeWords(value) : value;
}

/**
 * The headers a logger records, as KumoMTA picks them: names match case-insensitively,
 * `X-*` matches every name with that prefix; the key is the name as spelled by the first
 * occurrence in the message; the value is a string, or an array of strings when the header
 * appears more than once. Values are decoded by {@link headerText}.
 */
export function selectHeaders(
  headers: readonly HeaderField[],
  names: readonly string[],
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (names.length === 0 || headers.length === 0) return out;
  // Group by lowercase name, first spelling wins, in message order.
  const groups = new Map<string, { name: string; values: string[] }>();
  for (const field of headers) {
    const lower = field.name.toLowerCase();
    const group = groups.get(lower);
    if (group) group.values.push(field.value);
    else groups.set(lower, { name: field.name, values: [field.value] });
  }
  const take = (lower: string) => {
    const group = groups.get(lower);
    if (!group) return;
    groups.delete(lower); // a header listed twice, or matched twice, is recorded once
    const values = group.values.map(headerText);
    out[group.name] = values.length === 1 ? values[0]! : values;
  };
  for (const name of names) {
    const prefix = wildcardPrefix(name)?.toLowerCase();
    if (prefix === undefined) {
      take(name.toLowerCase());
      continue;
    }
    for (const lower of [...groups.keys()]) if (lower.startsWith(prefix)) take(lower);
  }
  return out;
}

/**
 * Filters headers a record already carries (a record written without a message context) by
 * the same rules as {@link selectHeaders}.
 */
export function filterRecordHeaders(
  headers: Readonly<Record<string, string | string[]>>,
  names: readonly string[],
): Record<string, string | string[]> {
  const fields: HeaderField[] = [];
  for (const [name, value] of Object.entries(headers)) {
    for (const v of typeof value === 'string' ? [value] : value) fields.push({ name, value: v });
  }
  return selectHeaders(fields, names);
}
