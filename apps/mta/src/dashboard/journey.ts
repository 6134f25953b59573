import { basename } from 'node:path';
import { isSpoolId } from '@sterna/core/engine';
import { listSegments, segmentFrames } from '../logs/reader.js';
import { selects } from '../queue/admin-rules.js';
import {
  assembleJourneys,
  type EngineMessage,
  type RawRecord,
  recordMentions,
} from './journey-records.js';
import { readySuspensionRef, ruleRef } from './queues.js';
import type { DashboardEngine, DashboardSources } from './sources.js';
import type { JourneySearch, MessageLocation } from './wire.js';

/** The longest query: an address is at most 320 characters (64 + @ + 255). */
export const MAX_QUERY = 320;

// Messages of the engine an address search keeps, at most.
const MAX_ENGINE_MATCHES = 1000;

/** How much of the local logs one search reads, newest segments first. */
export interface JourneyBounds {
  /** Segments, across every log directory. @default 50 */
  readonly segments: number;
  /** Decompressed text. @default 64 MiB */
  readonly bytes: number;
  /** Messages of the engine looked at for an address. @default 200000 */
  readonly engineMessages: number;
  /** Journeys in the answer. @default 50 */
  readonly journeys: number;
}

/** The bounds a search runs under unless told otherwise. */
export const DEFAULT_BOUNDS: JourneyBounds = {
  segments: 50,
  bytes: 64 * 1024 * 1024,
  engineMessages: 200_000,
  journeys: 50,
};

/** A query the search refuses (400), with the reason. */
export class BadQuery extends Error {}

/**
 * Reads a query: trimmed; a spool id (32 hex characters of a v1 UUID, any case) is searched as
 * an id, anything else as an address.
 *
 * @throws BadQuery when it is empty or longer than {@link MAX_QUERY} characters.
 */
export function readQuery(raw: unknown): { query: string; by: 'id' | 'address' } {
  const query = typeof raw === 'string' ? raw.trim() : '';
  if (query === '')
    throw new BadQuery('q: give a spool id, or a recipient or sender address to search for');
  if (query.length > MAX_QUERY)
    throw new BadQuery(`q: ${query.length} characters is too long (at most ${MAX_QUERY})`);
  const lower = query.toLowerCase();
  return isSpoolId(lower) ? { query: lower, by: 'id' } : { query, by: 'address' };
}

/** Where the engine has a message now, with the lever holding it. */
export function locate(engine: DashboardEngine, id: string, now: number): MessageLocation | null {
  const at = engine.locate(id);
  if (!at) return null;
  let heldBy = null;
  if (at.ready !== undefined) {
    const rule = engine.admin.listReadyQueueSuspensions().find((r) => r.name === at.ready);
    heldBy = rule ? readySuspensionRef(rule) : null;
  } else {
    const rule = engine.admin.listSuspensions().find((r) => selects(r, at.queue));
    heldBy = rule ? ruleRef(rule, now) : null;
  }
  return {
    queue: at.ready ?? at.queue,
    where: at.ready !== undefined ? 'ready' : 'scheduled',
    due: at.due,
    num_attempts: at.num_attempts,
    held_by: heldBy,
  };
}

// The engine's messages the query names: one id, or those whose sender or a recipient matches.
function engineMatches(
  engine: DashboardEngine,
  q: { query: string; by: 'id' | 'address' },
  now: number,
  bound: number,
): { found: Map<string, EngineMessage>; scanned: number; truncated: boolean } {
  const found = new Map<string, EngineMessage>();
  const add = (m: { id: string; sender: string; recipients: readonly string[] }) => {
    const where = locate(engine, m.id, now);
    if (where) found.set(m.id, { sender: m.sender, recipients: [...m.recipients], now: where });
  };
  if (q.by === 'id') {
    const at = engine.locate(q.query);
    if (at) add({ id: q.query, sender: at.sender, recipients: at.recipients });
    return { found, scanned: at ? 1 : 0, truncated: false };
  }
  let scanned = 0;
  const want = q.query.toLowerCase();
  for (const m of engine.heldMessages()) {
    // Enough matches for any answer (each is located, a walk over the ready queues).
    if (scanned >= bound || found.size >= MAX_ENGINE_MATCHES)
      return { found, scanned, truncated: true };
    scanned++;
    if (m.sender.toLowerCase() === want || m.recipients.some((r) => r.toLowerCase() === want))
      add(m);
  }
  return { found, scanned, truncated: false };
}

// Records of the local logs the query names, oldest first. The newest segments are read first, so
// the bounds keep recent history; the answer is put back in writing order because a record's
// `timestamp` is whole seconds, and a Reception and the attempt after it often share one.
async function logMatches(
  dirs: readonly string[],
  matches: (record: RawRecord) => boolean,
  bounds: JourneyBounds,
): Promise<{ records: RawRecord[]; segmentsRead: number; truncated: boolean }> {
  const segments: string[] = [];
  for (const dir of dirs) segments.push(...(await listSegments(dir).catch(() => [])));
  // Names are opening times: newest first across every directory.
  segments.sort((a, b) => basename(b).localeCompare(basename(a)));
  const bySegment: RawRecord[][] = [];
  let records: RawRecord[] = [];
  const inWritingOrder = () => bySegment.reverse().flat();
  let bytes = 0;
  let segmentsRead = 0;
  const take = (line: string) => {
    if (!line.startsWith('{')) return;
    try {
      const record = JSON.parse(line) as unknown;
      if (record && typeof record === 'object' && matches(record as RawRecord))
        records.push(record as RawRecord);
    } catch {
      // A template's output, or a line cut short: not a record.
    }
  };
  for (const path of segments) {
    if (segmentsRead >= bounds.segments || bytes >= bounds.bytes)
      return { records: inWritingOrder(), segmentsRead, truncated: true };
    segmentsRead++;
    records = [];
    bySegment.push(records);
    let carry = '';
    try {
      for await (const text of segmentFrames(path)) {
        bytes += text.length;
        const lines = (carry + text).split('\n');
        carry = lines.pop()!;
        for (const line of lines) take(line);
        if (bytes >= bounds.bytes) break;
      }
      take(carry);
    } catch {
      // A damaged or vanished segment (removed by a cleanup): the others still answer.
    }
  }
  return { records: inWritingOrder(), segmentsRead, truncated: bytes >= bounds.bytes };
}

/**
 * `GET /ui/api/journey?q=`: the messages a spool id or an address names, from the local logs
 * (bounded by `bounds`) and the engine.
 *
 * @throws BadQuery for an empty or over-long query.
 */
export async function searchJourneys(
  sources: DashboardSources,
  raw: unknown,
  now: number,
  bounds: JourneyBounds = DEFAULT_BOUNDS,
): Promise<JourneySearch> {
  const q = readQuery(raw);
  const engine = engineMatches(sources.engine, q, now, bounds.engineMessages);
  const matches =
    q.by === 'id'
      ? (r: RawRecord) => r.id === q.query
      : (r: RawRecord) => recordMentions(r, q.query);
  const logs = sources.logDirs ? await logMatches(sources.logDirs, matches, bounds) : undefined;
  return {
    query: q.query,
    by: q.by,
    journeys: assembleJourneys(logs?.records ?? [], engine.found, bounds.journeys),
    logs:
      logs && sources.logDirs
        ? {
            dirs: [...sources.logDirs],
            segments_read: logs.segmentsRead,
            truncated: logs.truncated,
          }
        : null,
    engine: { scanned: engine.scanned, truncated: engine.truncated },
  };
}
