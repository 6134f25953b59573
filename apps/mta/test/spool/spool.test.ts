import { appendFile, mkdir, mkdtemp, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from '@sterna/core';
import { newSpoolId } from '@sterna/core/engine';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  openSpool,
  type Spool,
  type SpoolEntry,
  type SpoolOptions,
} from '../../src/spool/index.js';

function logger(): Logger & { lines: { level: string; message: string; fields?: unknown }[] } {
  const lines: { level: string; message: string; fields?: unknown }[] = [];
  const at = (level: string) => (message: string, fields?: unknown) =>
    lines.push({ level, message, fields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function entry(id: string, data: Uint8Array, extra: Partial<SpoolEntry> = {}): SpoolEntry {
  return {
    id,
    sender: 'sender@example.com',
    recipients: ['a@example.net', 'b@example.net'],
    meta: { tenant: 'acme', nested: { list: [1, 'two', null] } },
    size: data.length,
    ...extra,
  };
}

async function all(spool: Spool): Promise<Map<string, SpoolEntry>> {
  const found = new Map<string, SpoolEntry>();
  for await (const e of spool.enumerate()) found.set(e.id, e);
  return found;
}

describe('spool', () => {
  let dir: string;
  let options: SpoolOptions;
  const open_: Spool[] = [];
  async function spool(extra: Partial<SpoolOptions> = {}): Promise<Spool> {
    const s = await openSpool({ ...options, ...extra });
    open_.push(s);
    return s;
  }
  // Flips one byte in the middle of a body as it lies in the first segment.
  async function damageOnDisk(body: Buffer): Promise<void> {
    const fh = await open(path.join(options.dataPath, '0000000000000001.seg'), 'r+');
    const { buffer } = await fh.read({ buffer: Buffer.alloc((await fh.stat()).size), position: 0 });
    const at = buffer.indexOf(body);
    expect(at).toBeGreaterThan(0);
    await fh.write(Buffer.from('~'), 0, 1, at + body.length / 2);
    await fh.close();
  }

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sterna-spool-'));
    options = {
      dataPath: path.join(dir, 'data'),
      metaPath: path.join(dir, 'meta'),
      minFreeSpace: 0,
    };
  });
  afterEach(async () => {
    for (const s of open_.splice(0)) await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('stores, reads, updates, enumerates and removes, and all of it survives a reopen', async () => {
    const s = await spool();
    const ids = Array.from({ length: 50 }, () => newSpoolId());
    const body = (i: number) => Buffer.from(`Subject: ${i}\r\n\r\n${'x'.repeat(i * 97)}\r\n`);
    await Promise.all(ids.map((id, i) => s.store(entry(id, body(i)), body(i))));
    expect(s.stats()).toMatchObject({ messages: 50 });
    expect(s.stats().syncs).toBeLessThan(50); // concurrent stores shared syncs
    for (const [i, id] of ids.entries()) expect(Buffer.from(await s.read(id))).toEqual(body(i));

    await s.update(
      entry(ids[0]!, body(0), { recipients: ['b@example.net'], due: 1234, num_attempts: 2 }),
    );
    await s.update(
      entry(ids[0]!, body(0), { recipients: ['b@example.net'], due: 5678, num_attempts: 3 }),
    );
    for (const id of ids.slice(40)) await s.remove(id);
    await s.remove(newSpoolId()); // unknown: ignored
    expect(s.stats()).toMatchObject({ messages: 40 });
    await expect(s.read(ids[45]!)).rejects.toMatchObject({ code: 'STERNA_SPOOL_NOT_FOUND' });
    await s.close();
    await s.close(); // idempotent

    const again = await spool();
    const found = await all(again);
    expect([...found.keys()].sort()).toEqual(ids.slice(0, 40).sort());
    expect(found.get(ids[0]!)).toEqual({
      ...entry(ids[0]!, body(0)),
      recipients: ['b@example.net'],
      due: 5678,
      num_attempts: 3,
    });
    expect(found.get(ids[7]!)).toEqual(entry(ids[7]!, body(7)));
    expect(again.stats()).toMatchObject({
      messages: 40,
      bytes: ids.slice(0, 40).reduce((n, _, i) => n + body(i).length, 0),
    });
    for (const [i, id] of ids.slice(0, 40).entries()) {
      expect(Buffer.from(await again.read(id))).toEqual(body(i));
    }
    // A second enumeration reads metadata from disk instead of the copy kept from the scan.
    expect((await all(again)).get(ids[0]!)?.num_attempts).toBe(3);
  });

  it('keeps nothing in the meta directory and holds a lock in the data directory', async () => {
    const s = await spool();
    await s.store(entry(newSpoolId(), Buffer.from('x')), Buffer.from('x'));
    expect(await readdir(options.metaPath)).toEqual([]);
    expect((await readdir(options.dataPath)).sort()).toEqual([
      '0000000000000001.seg',
      'spool.lock',
    ]);
    await expect(openSpool(options)).rejects.toMatchObject({ code: 'STERNA_SPOOL_LOCKED' });
    await s.close();
    // A clean stop leaves the index checkpoint the next open reads (checkpoint.test.ts).
    expect((await readdir(options.dataPath)).sort()).toEqual([
      '0000000000000001.seg',
      'index.checkpoint',
    ]);
  });

  it('refuses misuse with clear codes', async () => {
    const s = await spool();
    const id = newSpoolId();
    const data = Buffer.from('hello');
    await s.store(entry(id, data), data);
    await expect(s.store(entry(id, data), data)).rejects.toMatchObject({
      code: 'STERNA_SPOOL_DUPLICATE',
    });
    await expect(s.store(entry('not-an-id', data), data)).rejects.toMatchObject({
      code: 'STERNA_SPOOL_ID_INVALID',
    });
    await expect(s.read(newSpoolId())).rejects.toMatchObject({
      code: 'STERNA_SPOOL_NOT_FOUND',
      message: expect.stringContaining('no message'),
    });
    await expect(s.update(entry(newSpoolId(), data))).rejects.toMatchObject({
      code: 'STERNA_SPOOL_NOT_FOUND',
    });
    await s.close();
    await expect(s.store(entry(newSpoolId(), data), data)).rejects.toMatchObject({
      code: 'STERNA_SPOOL_CLOSED',
    });
    await expect(s.read(id)).rejects.toMatchObject({ code: 'STERNA_SPOOL_CLOSED' });
    await expect(s.remove(id)).rejects.toMatchObject({ code: 'STERNA_SPOOL_CLOSED' });
    await expect(openSpool({ ...options, minFreeSpace: 'plenty' })).rejects.toMatchObject({
      code: 'STERNA_SPOOL_OPTIONS_INVALID',
    });
  });

  it('answers STERNA_SPOOL_FULL below min_free_space and loses nothing', async () => {
    const s = await spool();
    const kept = newSpoolId();
    await s.store(entry(kept, Buffer.from('kept')), Buffer.from('kept'));
    await s.close();
    const full = await spool({ minFreeSpace: '100%' });
    const refused = newSpoolId();
    await expect(
      full.store(entry(refused, Buffer.from('no')), Buffer.from('no')),
    ).rejects.toMatchObject({
      code: 'STERNA_SPOOL_FULL',
      message: expect.stringContaining('spool disk is too full'),
    });
    expect(full.stats().messages).toBe(1);
    expect(Buffer.from(await full.read(kept)).toString()).toBe('kept');
    await full.close();
    const inodes = await spool({ minFreeInodes: '100%' });
    await expect(
      inodes.store(entry(refused, Buffer.from('no')), Buffer.from('no')),
    ).rejects.toMatchObject({
      code: 'STERNA_SPOOL_FULL',
    });
    await inodes.close();
    const after = await spool();
    expect([...(await all(after)).keys()]).toEqual([kept]);
  });

  it('answers STERNA_SPOOL_WRITE for an unusable directory', async () => {
    // Tests run as root, which ignores permission bits: a path under a regular file cannot be
    // created by anyone (ENOTDIR), which is what an unwritable spool looks like to the daemon.
    const file = path.join(dir, 'a-file');
    await writeFile(file, 'not a directory');
    await expect(
      openSpool({ dataPath: path.join(file, 'data'), metaPath: path.join(file, 'meta') }),
    ).rejects.toMatchObject({
      code: 'STERNA_SPOOL_WRITE',
      message: expect.stringContaining('ENOTDIR'),
    });
    await expect(
      openSpool({ dataPath: path.join(dir, 'ok'), metaPath: path.join(file, 'meta') }),
    ).rejects.toMatchObject({ code: 'STERNA_SPOOL_WRITE' });
  });

  it('fails stores with STERNA_SPOOL_WRITE when a segment cannot be created, then recovers', async () => {
    const s = await spool({ segmentSize: 1 }); // every round of writes starts a new segment
    const first = newSpoolId();
    await s.store(entry(first, Buffer.from('one')), Buffer.from('one'));
    // Block the next segment's name with a directory: its creation fails (EEXIST).
    const blocker = path.join(options.dataPath, '0000000000000002.seg');
    await mkdir(blocker);
    const failed = newSpoolId();
    await expect(
      s.store(entry(failed, Buffer.from('two')), Buffer.from('two')),
    ).rejects.toMatchObject({
      code: 'STERNA_SPOOL_WRITE',
      message: expect.stringContaining('EEXIST'),
    });
    expect(s.stats().messages).toBe(1);
    await rm(blocker, { recursive: true });
    const third = newSpoolId();
    await s.store(entry(third, Buffer.from('three')), Buffer.from('three'));
    await s.close();
    const after = await spool();
    expect([...(await all(after)).keys()].sort()).toEqual([first, third].sort());
    expect(Buffer.from(await after.read(first)).toString()).toBe('one');
  });

  it('cuts off a torn tail at open, with a warning, keeping every whole record', async () => {
    const s = await spool();
    const ids = [newSpoolId(), newSpoolId()];
    for (const id of ids) await s.store(entry(id, Buffer.from(id)), Buffer.from(id));
    await s.close();
    const segment = path.join(options.dataPath, '0000000000000001.seg');
    const good = (await stat(segment)).size;
    // A record cut short, as a crash mid-write leaves it: a copy of the first 50 bytes of one.
    const fh = await open(segment, 'r');
    const piece = Buffer.alloc(50);
    await fh.read(piece, 0, 50, 0);
    await fh.close();
    await appendFile(segment, piece);
    const log = logger();
    const after = await spool({ logger: log });
    expect([...(await all(after)).keys()].sort()).toEqual([...ids].sort());
    expect(log.lines).toContainEqual({
      level: 'warn',
      message: 'spool segment has a torn tail: cut off',
      fields: { segment, offset: good, size: good + 50, problem: 'truncated record' },
    });
    expect((await stat(segment)).size).toBe(good);
    // New records go after the cut, into a new segment, and survive another reopen.
    const more = newSpoolId();
    await after.store(entry(more, Buffer.from('more')), Buffer.from('more'));
    await after.close();
    const third = await spool({ logger: log });
    expect((await all(third)).size).toBe(3);
  });

  it('skips damage followed by valid records instead of cutting them off', async () => {
    const s = await spool();
    const ids = [newSpoolId(), newSpoolId(), newSpoolId()];
    for (const id of ids) await s.store(entry(id, Buffer.alloc(500, id)), Buffer.alloc(500, id));
    await s.close();
    const segment = path.join(options.dataPath, '0000000000000001.seg');
    const { size } = await stat(segment);
    const recordSize = size / 3;
    // Bit rot in the middle record's data: the first and last records are still good.
    const fh = await open(segment, 'r+');
    await fh.write(Buffer.from('!!!!'), 0, 4, recordSize + 300);
    await fh.close();
    // A replay finds it; the checkpoint of the clean stop would have trusted the record until it
    // is read (STERNA_SPOOL_CORRUPT, checkpoint.test.ts).
    await rm(path.join(options.dataPath, 'index.checkpoint'));
    const log = logger();
    const after = await spool({ logger: log });
    expect([...(await all(after)).keys()].sort()).toEqual([ids[0], ids[2]].sort());
    expect(Buffer.from(await after.read(ids[2]!))).toEqual(Buffer.alloc(500, ids[2]));
    expect(log.lines).toContainEqual({
      level: 'error',
      message: 'spool segment is damaged: a stretch without valid records was skipped',
      fields: { segment, from: recordSize, to: 2 * recordSize, problem: 'checksum mismatch' },
    });
    expect((await stat(segment)).size).toBe(size); // not cut: evidence stays on disk
  });

  it('reports a record whose bytes changed on disk as STERNA_SPOOL_CORRUPT', async () => {
    const s = await spool({ freshCacheBytes: 0 });
    const id = newSpoolId();
    const data = Buffer.alloc(1000, 'a');
    await s.store(entry(id, data), data);
    const fh = await open(path.join(options.dataPath, '0000000000000001.seg'), 'r+');
    const { size } = await fh.stat();
    await fh.write(Buffer.from('b'), 0, 1, size - 10);
    await fh.close();
    await expect(s.read(id)).rejects.toMatchObject({ code: 'STERNA_SPOOL_CORRUPT' });
  });

  it('answers the first read of a fresh body from memory, and later reads from disk', async () => {
    const s = await spool();
    const id = newSpoolId();
    const data = Buffer.alloc(1000, 'a');
    await s.store(entry(id, data), data);
    await damageOnDisk(data);
    // The first read (the delivery right after reception) is the stored bytes themselves.
    expect(Buffer.from(await s.read(id)).equals(data)).toBe(true);
    // A retry reads the disk, and sees the damage.
    await expect(s.read(id)).rejects.toMatchObject({ code: 'STERNA_SPOOL_CORRUPT' });
  });

  it('keeps fresh bodies within freshCacheBytes, dropping the oldest first', async () => {
    const s = await spool({ freshCacheBytes: 4000 });
    const bodies = 'abcde'.split('').map((c) => Buffer.alloc(1000, c));
    const ids = bodies.map(() => newSpoolId());
    for (const [i, body] of bodies.entries()) await s.store(entry(ids[i]!, body), body);
    await damageOnDisk(bodies[0]!);
    await damageOnDisk(bodies[4]!);
    // 5,000 bytes stored with a 4,000-byte budget: the oldest went to disk only.
    await expect(s.read(ids[0]!)).rejects.toMatchObject({ code: 'STERNA_SPOOL_CORRUPT' });
    expect(Buffer.from(await s.read(ids[4]!)).equals(bodies[4]!)).toBe(true);
  });

  it('makes removals durable by close, and lazily within removeFlushDelay', async () => {
    const s = await spool({ removeFlushDelay: 50 });
    const ids = [newSpoolId(), newSpoolId()];
    for (const id of ids) await s.store(entry(id, Buffer.from('x')), Buffer.from('x'));
    const syncs = s.stats().syncs!;
    await s.remove(ids[0]!);
    expect(s.stats().syncs).toBe(syncs); // no sync of its own right away
    // Bounded generously (10 s): the sync is timer-driven, and a busy disk may take long over it.
    for (let i = 0; i < 500 && s.stats().syncs === syncs; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(s.stats().syncs).toBe(syncs + 1);
    await s.remove(ids[1]!);
    await s.close();
    const after = await spool();
    expect((await all(after)).size).toBe(0);
  });
});
