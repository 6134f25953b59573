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

/** A spool entry from the JSON of a record. */
export function decodeMeta(id: string, size: number, json: Uint8Array | string): SpoolEntry {
  const text = typeof json === 'string' ? json : Buffer.from(json).toString('utf8');
  const stored = JSON.parse(text) as StoredMeta;
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
