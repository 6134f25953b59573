import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@sterna/core';
import { newSpoolId } from '@sterna/core/engine';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSpool, type Spool, type SpoolEntry, type SpoolStats } from '../../src/spool/index.js';

// The index checkpoint (src/spool/checkpoint.ts): written at a clean stop and while the spool runs,
// read by the next open instead of a replay of the whole log (only the log after it is replayed),
// deleted by that open.

const here = path.dirname(fileURLToPath(import.meta.url));
const CHECKPOINT = 'index.checkpoint';
const READ = 'spool index read from its checkpoint, and the log after it replayed';
const REPLAYED = 'spool index rebuilt by replaying the log';
const NOT_USED = 'spool index checkpoint not used: replaying the whole log';
const METADATA_NOT_USABLE =
  'spool index checkpoint: metadata not usable, read from the log instead';

type Line = { level: string; message: string; fields?: Record<string, unknown> };
function logger(): Logger & { lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    lines.push({ level, message, fields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

const body = (id: string) => Buffer.from(`${id}\r\n`.repeat(1 + (Number.parseInt(id, 16) % 40)));
function entry(id: string, attempts = 0): SpoolEntry {
  return {
    id,
    sender: 'sender@example.com',
    recipients: [`rcpt-${attempts}@example.net`],
    meta: { queue: 'example.net', note: 'é'.repeat(attempts) },
    size: 0,
    num_attempts: attempts,
    ...(attempts > 0 ? { due: 1_800_000_000_000 + attempts } : {}),
  };
}

async function all(spool: Spool): Promise<Map<string, SpoolEntry>> {
  const found = new Map<string, SpoolEntry>();
  for await (const e of spool.enumerate()) found.set(e.id, e);
  return found;
}

// What a replay rebuilds beside the index, per segment: size, live bytes, removal records kept.
function segments(spool: Spool): unknown {
  const inner = spool as unknown as {
    segments: Map<number, { size: number; live: number; removeTargets: Map<number, number> }>;
  };
  return [...inner.segments.entries()]
    .sort(([a], [b]) => a - b)
    .map(([no, s]) => ({ no, size: s.size, live: s.live, targets: [...s.removeTargets] }));
}

// What stats say of the files (not syncs and compactions since open, nor a compaction pending).
const onDisk = ({ messages, bytes, segments, diskBytes }: SpoolStats) => ({
  messages,
  bytes,
  segments,
  diskBytes,
});

describe('spool index checkpoint', () => {
  let dir: string;
  let dataPath: string;
  const opened: Spool[] = [];
  const spoolAt = async (data: string, log: Logger = logger()) => {
    const s = await openSpool({
      dataPath: data,
      metaPath: path.join(dir, 'meta'),
      minFreeSpace: 0,
      minFreeInodes: 0,
      segmentSize: 16 * 1024,
      logger: log,
    });
    opened.push(s);
    return s;
  };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sterna-checkpoint-'));
    dataPath = path.join(dir, 'data');
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Stores, updates and removes enough to roll many segments and compact some. */
  async function fill(s: Spool): Promise<Map<string, number>> {
    const kept = new Map<string, number>(); // id -> attempts of its latest update
    const ids: string[] = [];
    for (let i = 0; i < 300; i++) {
      const id = newSpoolId();
      await s.store(entry(id), body(id));
      ids.push(id);
      kept.set(id, 0);
      if (i % 3 === 2) {
        const target = ids[i - 1]!;
        const n = (kept.get(target) ?? 0) + 1;
        await s.update(entry(target, n));
        kept.set(target, n);
      }
      if (i % 4 === 3) {
        // Half of them go (never one updated later), so sealed segments get compacted.
        for (const gone of [ids[i - 3]!, ids[i - 2]!]) {
          await s.remove(gone);
          kept.delete(gone);
        }
      }
    }
    return kept;
  }

  async function expectHolds(s: Spool, kept: Map<string, number>): Promise<void> {
    const found = await all(s);
    expect([...found.keys()].sort()).toEqual([...kept.keys()].sort());
    for (const [id, attempts] of kept) {
      expect(found.get(id)).toMatchObject({ ...entry(id, attempts), size: body(id).length });
      expect(Buffer.from(await s.read(id)).equals(body(id))).toBe(true);
    }
  }

  it('is written at a clean stop and read by the next open: the same state as a replay', async () => {
    const first = await spoolAt(dataPath);
    const kept = await fill(first);
    // Compaction runs in the background: give it up to 10 s to have freed a segment.
    for (let i = 0; i < 1000 && !first.stats().compactions; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(first.stats().compactions).toBeGreaterThan(0);
    await first.close();
    const stoppedState = { stats: onDisk(first.stats()), segments: segments(first) };
    expect(await readdir(dataPath)).toContain(CHECKPOINT);
    // The same files without the checkpoint: a replay, to compare with.
    const replayPath = path.join(dir, 'replayed');
    await cp(dataPath, replayPath, { recursive: true });
    await rm(path.join(replayPath, CHECKPOINT));

    const log = logger();
    const fromCheckpoint = await spoolAt(dataPath, log);
    // Taken before anything awaits: the compaction an open schedules runs a turn later.
    const checkpointState = { stats: fromCheckpoint.stats(), segments: segments(fromCheckpoint) };
    expect(log.lines.find((l) => l.level === 'info')).toMatchObject({
      message: READ,
      fields: { messages: kept.size },
    });
    // Kept by the open that read it: it stays a place in the log a crash would start from.
    expect(await readdir(dataPath)).toContain(CHECKPOINT);
    const replayLog = logger();
    const replayed = await spoolAt(replayPath, replayLog);
    const replayState = { stats: replayed.stats(), segments: segments(replayed) };
    expect(replayLog.lines.find((l) => l.level === 'info')?.message).toBe(REPLAYED);

    // Exactly the state the stopped spool had, live bytes included.
    expect(checkpointState.segments).toEqual(stoppedState.segments);
    expect(checkpointState.stats).toMatchObject(stoppedState.stats);
    expect(checkpointState.stats.messages).toBe(kept.size);
    // A replay finds the same messages in the same segments. Its live bytes may be higher: when a
    // compaction copied a message's STORE (with the latest metadata) and then its UPDATE too, the
    // running spool knew the UPDATE copy was not needed; a replay takes the later record.
    const files = (state: typeof replayState) => ({
      stats: onDisk(state.stats),
      segments: (state.segments as { live: number }[]).map(({ live: _, ...rest }) => rest),
    });
    expect(files(checkpointState)).toEqual(files(replayState));
    await expectHolds(fromCheckpoint, kept);
    await expectHolds(replayed, kept);

    // It goes on as a replayed one does: what is removed stays removed through the next stop.
    const [gone] = kept.keys();
    await fromCheckpoint.remove(gone!);
    kept.delete(gone!);
    await fromCheckpoint.close();
    await expectHolds(await spoolAt(dataPath), kept);
  });

  it('carries metadata read from disk and metadata remembered from the previous open', async () => {
    const first = await spoolAt(dataPath);
    const kept = await fill(first);
    await first.close(); // metadata of stored and updated messages: read back from the segments
    const second = await spoolAt(dataPath);
    await second.close(); // not enumerated: the metadata adopted from the checkpoint, as it was
    const third = await spoolAt(dataPath);
    await expectHolds(third, kept);
    // Enumerated, then changed: the checkpoint has the latest metadata.
    const [id] = kept.keys();
    await third.update(entry(id!, 9));
    kept.set(id!, 9);
    await third.close();
    const log = logger();
    const fourth = await spoolAt(dataPath, log);
    expect(log.lines.some((l) => l.message === READ)).toBe(true);
    await expectHolds(fourth, kept);
  });

  it('is not used when it is damaged, cut short, or does not fit the segments; an older one still is', async () => {
    const first = await spoolAt(dataPath);
    const kept = await fill(first);
    await first.close();
    const file = path.join(dataPath, CHECKPOINT);

    // Each case damages the checkpoint the previous close wrote: a replayed open may compact,
    // so an older checkpoint would name other segments and be refused for that first.
    const cases: [string, (good: Buffer) => Buffer, (good: Buffer) => string][] = [
      [
        'a byte flipped in the index',
        (good) => {
          const damaged = Buffer.from(good);
          damaged[40]! ^= 0xff;
          return damaged;
        },
        () => 'checksum mismatch',
      ],
      [
        'cut short',
        (good) => good.subarray(0, good.length - 100),
        (good) => `its length is ${good.length - 100}, its header says ${good.length}`,
      ],
      ['not a checkpoint', () => Buffer.alloc(64, 'x'), () => 'bad magic'],
    ];
    for (const [what, damage, reason] of cases) {
      const good = await readFile(file);
      await writeFile(file, damage(good));
      const problem = reason(good);
      const log = logger();
      const s = await spoolAt(dataPath, log);
      expect(log.lines, what).toContainEqual({
        level: 'warn',
        message: NOT_USED,
        fields: { checkpoint: file, problem },
      });
      expect(log.lines.some((l) => l.message === REPLAYED)).toBe(true);
      await expectHolds(s, kept);
      await s.close(); // writes a good one again
    }

    // On copies: a segment shorter than it names (the log lost what it holds), and a segment on
    // disk below the ones it names that it does not name.
    const names = (await readdir(dataPath)).filter((n) => n.endsWith('.seg')).sort();
    const shortPath = path.join(dir, 'short');
    await cp(dataPath, shortPath, { recursive: true });
    const shortened = path.join(shortPath, names.at(-1)!);
    const segmentBytes = await readFile(shortened);
    await writeFile(shortened, segmentBytes.subarray(0, segmentBytes.length - 1));
    const strayPath = path.join(dir, 'stray');
    await cp(dataPath, strayPath, { recursive: true });
    const stray = '0000000000000000.seg';
    await writeFile(path.join(strayPath, stray), '');
    for (const [at, problem] of [
      [
        shortPath,
        `segment ${shortened} is ${segmentBytes.length - 1} bytes, it names ${segmentBytes.length}`,
      ],
      [strayPath, `segment ${stray} on disk is not one it names`],
    ] as const) {
      const log = logger();
      await spoolAt(at, log);
      expect(log.lines).toContainEqual({
        level: 'warn',
        message: NOT_USED,
        fields: { checkpoint: path.join(at, CHECKPOINT), problem },
      });
    }

    // An older checkpoint put back after the spool moved on is still a place in the log: the
    // open reads it and replays what was written after it.
    const old = await readFile(file);
    const next = await spoolAt(dataPath);
    const extra = newSpoolId();
    await next.store(entry(extra), body(extra));
    kept.set(extra, 0);
    await next.close();
    await writeFile(file, old);
    const log = logger();
    const s = await spoolAt(dataPath, log);
    expect(log.lines.find((l) => l.message === READ)?.fields).toMatchObject({
      messages: kept.size,
      replayedBytes: expect.any(Number),
    });
    expect(log.lines.find((l) => l.message === READ)?.fields?.replayedBytes).toBeGreaterThan(0);
    await expectHolds(s, kept);
  });

  it('a damaged metadata chunk costs reads of that metadata from the log, not the checkpoint', async () => {
    const first = await spoolAt(dataPath);
    const kept = await fill(first);
    await first.close();
    const file = path.join(dataPath, CHECKPOINT);
    const damaged = await readFile(file);
    damaged[damaged.length - 5]! ^= 0xff; // inside the last metadata chunk
    await writeFile(file, damaged);
    const log = logger();
    const s = await spoolAt(dataPath, log);
    expect(log.lines.some((l) => l.message === READ)).toBe(true);
    // Every message is there with its latest metadata: read from its record instead.
    await expectHolds(s, kept);
    // Found when the chunk was first used.
    expect(log.lines).toContainEqual({
      level: 'warn',
      message: METADATA_NOT_USABLE,
      fields: { checkpoint: file, problem: 'checksum mismatch in metadata chunk 0' },
    });
  });

  it('trusts the records it names until they are read: damage made while stopped is STERNA_SPOOL_CORRUPT then', async () => {
    const first = await spoolAt(dataPath);
    const id = newSpoolId();
    await first.store(entry(id), Buffer.alloc(2000, 'a'));
    await first.close();
    const segment = path.join(dataPath, '0000000000000001.seg');
    const fh = await open(segment, 'r+');
    await fh.write(Buffer.from('b'), 0, 1, 1500);
    await fh.close();
    const s = await spoolAt(dataPath);
    expect((await all(s)).has(id)).toBe(true);
    await expect(s.read(id)).rejects.toMatchObject({ code: 'STERNA_SPOOL_CORRUPT' });
  });

  it('leaves no checkpoint when it cannot be written, and the next open replays', async () => {
    const log = logger();
    const first = await spoolAt(dataPath, log);
    const kept = await fill(first);
    // Its temporary name taken by a directory: the write fails with EISDIR.
    const blocker = path.join(dataPath, `.${CHECKPOINT}.tmp`);
    await mkdir(blocker);
    await first.close();
    expect(log.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message:
          'spool index checkpoint not written at stop: the next start replays more of the log',
      }),
    );
    expect(await readdir(dataPath)).not.toContain(CHECKPOINT);
    await rm(blocker, { recursive: true });
    const again = logger();
    const s = await spoolAt(dataPath, again);
    expect(again.lines.some((l) => l.message === REPLAYED)).toBe(true);
    await expectHolds(s, kept);
  });

  it('after kill -9 of a process that opened from a checkpoint, the next open reads it again and replays the log after it', {
    timeout: 60_000,
  }, async () => {
    const first = await spoolAt(dataPath);
    const kept = await fill(first);
    await first.close();
    const [gone] = kept.keys();
    const added = newSpoolId();
    const script = path.join(dir, 'child.mts');
    const spoolModule = path.join(here, '../../src/spool/index.ts');
    await writeFile(
      script,
      `import { openSpool } from ${JSON.stringify(spoolModule)};
const [dataPath, metaPath, gone, added] = process.argv.slice(2);
const spool = await openSpool({ dataPath, metaPath, minFreeSpace: 0, minFreeInodes: 0, segmentSize: 16384 });
await spool.store({ id: added, sender: 'sender@example.com', recipients: ['rcpt-0@example.net'], meta: { queue: 'example.net', note: '' }, size: 0, num_attempts: 0 }, Buffer.from(added + '\\r\\n'));
await spool.remove(gone);
await spool.update({ id: added, sender: 'sender@example.com', recipients: ['rcpt-0@example.net'], meta: { queue: 'example.net', note: '' }, size: 0, num_attempts: 0 });
process.stdout.write('written\\n');
setInterval(() => {}, 1000);
`,
    );
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=@sterna/source',
        script,
        dataPath,
        path.join(dir, 'meta'),
        gone!,
        added,
      ],
      { cwd: path.join(here, '../..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((r) => child.once('exit', r));
    const output = new Promise<string>((resolve) => {
      let text = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('written')) resolve(text);
      });
      child.once('exit', () => resolve(text));
    });
    expect(await output).toContain('written');
    expect(await readdir(dataPath)).toContain(CHECKPOINT);
    child.kill('SIGKILL');
    await exited;

    const log = logger();
    const s = await spoolAt(dataPath, log);
    const read = log.lines.find((l) => l.message === READ);
    expect(read?.fields).toMatchObject({ messages: kept.size });
    expect(read?.fields?.replayedBytes).toBeGreaterThan(0);
    // The removal was written by the update's sync (removals ride with the next write).
    kept.delete(gone!);
    const found = await all(s);
    expect([...found.keys()].sort()).toEqual([...kept.keys(), added].sort());
    expect(Buffer.from(await s.read(added)).toString()).toBe(`${added}\r\n`);
  });

  it('one written while the spool ran is read after kill -9: only the log after it is replayed, and messages removed since stay removed', {
    timeout: 60_000,
  }, async () => {
    // The child stores and updates messages, writes a checkpoint, then removes every one of them
    // and rolls enough segments for compaction to delete every segment the checkpoint names (and
    // the removal records with them), stores survivors, and prints what it holds. Then it waits
    // to be killed.
    const script = path.join(dir, 'child.mts');
    const spoolModule = path.join(here, '../../src/spool/index.ts');
    await writeFile(
      script,
      `import { readdir } from 'node:fs/promises';
import { newSpoolId } from ${JSON.stringify(path.join(here, '../../../../packages/core/src/engine.ts'))};
import { openSpool } from ${JSON.stringify(spoolModule)};
const [dataPath, metaPath] = process.argv.slice(2);
const spool = await openSpool({ dataPath, metaPath, minFreeSpace: 0, minFreeInodes: 0, segmentSize: 16384, removeFlushDelay: 5, checkpointEvery: 0 });
const held = new Map();
const entry = (id, n) => ({ id, sender: 'sender@example.com', recipients: ['rcpt-' + n + '@example.net'], meta: { queue: 'example.net', note: 'é'.repeat(n) }, size: 0, num_attempts: n, ...(n > 0 ? { due: 1_800_000_000_000 + n } : {}) });
const body = (id) => Buffer.from((id + '\\r\\n').repeat(1 + (Number.parseInt(id, 16) % 40)));
const store = async (id) => { await spool.store(entry(id, 0), body(id)); held.set(id, 0); };
const update = async (id, n) => { await spool.update(entry(id, n)); held.set(id, n); };
const segments = async () => (await readdir(dataPath)).filter((n) => n.endsWith('.seg'));
const before = [];
for (let i = 0; i < 60; i++) {
  const id = newSpoolId();
  before.push(id);
  await store(id);
  if (i % 3 === 0) await update(id, 1 + (i % 5));
}
await spool.checkpointNow();
const named = await segments();
for (const id of before) { await spool.remove(id); held.delete(id); }
const fillers = [];
for (let i = 0; i < 80; i++) { const id = newSpoolId(); fillers.push(id); await store(id); }
for (const id of fillers) { await spool.remove(id); held.delete(id); }
for (let i = 0; i < 20; i++) {
  const id = newSpoolId();
  await store(id);
  if (i % 2 === 0) await update(id, 2 + (i % 3));
}
// Compaction runs in the background: up to 30 s for it to have deleted what the checkpoint names.
for (const end = Date.now() + 30_000; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) {
  const now = await segments();
  if (!named.some((n) => now.includes(n))) break;
}
const left = (await segments()).filter((n) => named.includes(n));
process.stdout.write(JSON.stringify({ held: [...held], left }) + '\\n');
setInterval(() => {}, 1000);
`,
    );
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@sterna/source', script, dataPath, path.join(dir, 'meta')],
      { cwd: path.join(here, '../..'), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let errors = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      errors += chunk;
    });
    const exited = new Promise((r) => child.once('exit', r));
    const output = new Promise<string>((resolve) => {
      let text = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('\n')) resolve(text);
      });
      child.once('exit', () => resolve(text));
    });
    const text = await output;
    expect(errors).toBe('');
    const said = JSON.parse(text) as { held: [string, number][]; left: string[] };
    expect(await readdir(dataPath)).toContain(CHECKPOINT);
    child.kill('SIGKILL');
    await exited;
    expect(said.left).toEqual([]);
    const kept = new Map(said.held);
    expect(kept.size).toBe(20);

    // The same files without the checkpoint: a replay of the whole log, to compare with.
    const replayPath = path.join(dir, 'replayed');
    await cp(dataPath, replayPath, { recursive: true });
    await rm(path.join(replayPath, CHECKPOINT));
    const log = logger();
    const s = await spoolAt(dataPath, log);
    const read = log.lines.find((l) => l.message === READ);
    expect(read?.fields).toMatchObject({ messages: 20 });
    // Every message it holds was removed since, in a segment now deleted with its removal.
    expect(read?.fields?.removedSince).toBe(60);
    expect(read?.fields?.replayedBytes).toBeGreaterThan(0);
    await expectHolds(s, kept);
    const replayLog = logger();
    const replayed = await spoolAt(replayPath, replayLog);
    expect(replayLog.lines.some((l) => l.message === REPLAYED)).toBe(true);
    await expectHolds(replayed, kept);
  });
});
