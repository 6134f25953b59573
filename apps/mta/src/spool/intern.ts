import type { MetaValue } from '@sterna/core';

// Longer strings are left as they are: rarely repeated, and costly to hash.
const MAX_LENGTH = 256;
// The table is emptied when it reaches this many strings, so it never grows without bound (with
// many distinct strings, those repeated are still shared within each round of the table).
const MAX_ENTRIES = 10_000;

const table = new Map<string, string>();
let lastString = '';

/**
 * One shared instance of a string many queued messages carry (the sender, the queue name, the
 * listener's meta values): a million messages from one sender to one domain hold one copy of
 * each instead of a million. Strings are immutable, so sharing them changes nothing else.
 */
export function intern(s: string): string {
  // Runs of one value (the sender of a batch) are common: a compare is cheaper than a lookup.
  if (s === lastString) return lastString;
  if (s.length > MAX_LENGTH) return s;
  const known = table.get(s);
  if (known !== undefined) {
    lastString = known;
    return known;
  }
  if (table.size >= MAX_ENTRIES) table.clear();
  // A flat copy: the string given may be a slice of a longer one (a domain cut from a
  // recipient) or a concatenation, which would keep its parts alive as long as it is shared.
  const flat = s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8');
  table.set(flat, flat);
  lastString = flat;
  return flat;
}

/** Replaces the string values of `meta` (an object the caller owns) by their shared instances. */
export function internMeta(meta: Record<string, MetaValue>): Record<string, MetaValue> {
  for (const key of Object.keys(meta)) {
    const value = meta[key];
    if (typeof value === 'string') meta[key] = intern(value);
  }
  return meta;
}

const EMPTY: Record<string, MetaValue> = Object.freeze({});
let last: Record<string, MetaValue> = EMPTY;

/**
 * `meta` (an object the caller owns) with its strings shared, or, when it holds the same keys
 * and values as the meta object shared last, that object instead: the messages of one
 * connection or one injection request carry one meta object between them. A shared object is
 * frozen: every writer of a queued message's meta replaces the object (`{ ...meta }`,
 * `metaObject()`), none changes it in place, and one that tried would fail loudly rather than
 * change other messages' meta.
 */
export function shareMeta(meta: Record<string, MetaValue>): Record<string, MetaValue> {
  if (meta === last || Object.isFrozen(meta)) return meta; // shared already (by the spool too)
  internMeta(meta);
  const keys = Object.keys(meta);
  if (keys.length === 0) return EMPTY;
  const previous = Object.keys(last);
  if (
    previous.length === keys.length &&
    keys.every((k, i) => previous[i] === k && last[k] === meta[k])
  )
    return last;
  last = Object.freeze(meta);
  return meta;
}

/**
 * The meta a message keeps after its policy or driver gave back `next`: the object it has when
 * `next` holds the same keys and values (most attempts change nothing), else `next` shared as
 * {@link shareMeta} shares it.
 */
export function keepMeta(
  current: Record<string, MetaValue>,
  next: Record<string, MetaValue>,
): Record<string, MetaValue> {
  const keys = Object.keys(next);
  const had = Object.keys(current);
  if (had.length === keys.length && keys.every((k, i) => had[i] === k && current[k] === next[k]))
    return current;
  return shareMeta(next);
}
