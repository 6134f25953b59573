import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from '@sterna/core';
import { newSpoolId } from '@sterna/core/engine';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  HoldingSpool,
  openSpool,
  type Spool,
  type SpoolEntry,
  type SpoolOptions,
} from '../../src/spool/index.js';

// deferred_spool on a real local-disk spool in a temporary directory: what is held is read from
// memory and never written unless it has to wait; a failed first write keeps it in memory.

function entry(id: string, data: Uint8Array, extra: Partial<SpoolEntry> = {}): SpoolEntry {
  return {
    id,
    sender: 'hook@example.com',
    recipients: ['a@example.net'],
    meta: { reception_protocol: 'LogRecord', queue: 'webhook' },
    size: data.length,
    ...extra,
  };
}

async function all(spool: Spool): Promise<Map<string, SpoolEntry>> {
  const found = new Map<string, SpoolEntry>();
  for await (const e of spool.enumerate()) found.set(e.id, e);
  return found;
}

function logger(): Logger & { errors: { message: string; fields?: unknown }[] } {
  const errors: { message: string; fields?: unknown }[] = [];
  const ignore = () => undefined;
  return {
    errors,
    debug: ignore,
    info: ignore,
    warn: ignore,
    error: (message, fields) => errors.push({ message, fields }),
  };
}

describe('a holding spool (deferred_spool)', () => {
  let dir: string;
  let options: SpoolOptions;
  const opened: Spool[] = [];
  const open = async (extra: Partial<SpoolOptions> = {}, log?: Logger) => {
    const spool = new HoldingSpool(await openSpool({ ...options, ...extra }), log);
    opened.push(spool);
    return spool;
  };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sterna-holding-'));
    options = { dataPath: path.join(dir, 'data'), metaPath: path.join(dir, 'meta') };
  });
  afterEach(async () => {
    for (const spool of opened.splice(0)) await spool.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a held message from memory and forgets it on removal without writing anything', async () => {
    const spool = await open();
    const id = newSpoolId();
    const data = Buffer.from('{"type":"Delivery"}\n');
    spool.hold(entry(id, data), data);
    expect(spool.isHeld(id)).toBe(true);
    expect(Buffer.from(await spool.read(id)).toString()).toBe('{"type":"Delivery"}\n');
    expect(spool.stats()).toMatchObject({ messages: 1, bytes: data.length, held: 1 });
    expect(await all(spool)).toEqual(new Map()); // not on disk
    await spool.remove(id);
    expect(spool.isHeld(id)).toBe(false);
    expect(spool.stats()).toMatchObject({ messages: 0, bytes: 0, held: 0, heldBytes: 0 });
    expect(spool.stats().syncs).toBe(0);
    expect(spool.stats().diskBytes).toBe(0);
    await spool.close();
    expect(await all(await open())).toEqual(new Map());
  });

  it('writes a held message at its first update, with the entry it is given', async () => {
    let spool = await open();
    const id = newSpoolId();
    const data = Buffer.from('record one\n');
    spool.hold(entry(id, data), data);
    const due = Date.now() + 60_000;
    await spool.update(entry(id, data, { num_attempts: 1, due }));
    expect(spool.isHeld(id)).toBe(false);
    expect(spool.stats()).toMatchObject({ messages: 1, held: 0 });
    expect(spool.stats().syncs).toBeGreaterThan(0);
    // A second update is an ordinary one on the written message.
    await spool.update(entry(id, data, { num_attempts: 2, due }));
    await spool.close();
    spool = await open();
    const found = (await all(spool)).get(id);
    expect(found).toMatchObject({ num_attempts: 2, due, size: data.length });
    expect(Buffer.from(await spool.read(id)).toString()).toBe('record one\n');
  });

  it('writes what is still held when it closes, so a clean stop loses nothing', async () => {
    let spool = await open();
    const ids = [newSpoolId(), newSpoolId()];
    for (const id of ids) spool.hold(entry(id, Buffer.from(id)), Buffer.from(id));
    await spool.remove(ids[1]!); // delivered before the stop: not written
    await spool.close();
    expect(() => spool.hold(entry(newSpoolId(), Buffer.from('x')), Buffer.from('x'))).toThrow(
      /closed/,
    );
    spool = await open();
    expect([...(await all(spool)).keys()]).toEqual([ids[0]]);
    expect(Buffer.from(await spool.read(ids[0]!)).toString()).toBe(ids[0]);
  });

  it('keeps a message in memory when its first write fails, and says why', async () => {
    // A real refusal: the spool will not write with less than 100 % of the disk free.
    const spool = await open({ minFreeSpace: '100%' });
    const id = newSpoolId();
    const data = Buffer.from('record\n');
    spool.hold(entry(id, data), data);
    await expect(spool.update(entry(id, data, { num_attempts: 1 }))).rejects.toMatchObject({
      code: 'STERNA_SPOOL_FULL',
    });
    expect(spool.isHeld(id)).toBe(true);
    expect(Buffer.from(await spool.read(id)).toString()).toBe('record\n');
    expect(spool.stats()).toMatchObject({ messages: 1, held: 1 });
    await spool.remove(id); // delivered in the end: nothing left behind
    expect(spool.stats()).toMatchObject({ messages: 0, held: 0 });
  });

  it('names a held message it could not write at shutdown', async () => {
    const log = logger();
    const spool = await open({ minFreeSpace: '100%' }, log);
    const id = newSpoolId();
    spool.hold(entry(id, Buffer.from('x')), Buffer.from('x'));
    await spool.close();
    expect(log.errors).toEqual([
      {
        message: 'a held message could not be spooled at shutdown; it is lost',
        fields: { id, error: expect.stringMatching(/STERNA_SPOOL_FULL|free/) },
      },
    ]);
  });

  it('refuses an id that is held or spooled already, or is not a spool id', async () => {
    const spool = await open();
    const id = newSpoolId();
    spool.hold(entry(id, Buffer.from('a')), Buffer.from('a'));
    expect(() => spool.hold(entry(id, Buffer.from('a')), Buffer.from('a'))).toThrow(
      /already spooled/,
    );
    await expect(spool.store(entry(id, Buffer.from('a')), Buffer.from('a'))).rejects.toMatchObject({
      code: 'STERNA_SPOOL_DUPLICATE',
    });
    expect(() => spool.hold(entry('not-an-id', Buffer.from('c')), Buffer.from('c'))).toThrow(
      /not a spool id/,
    );
    const stored = newSpoolId();
    await spool.store(entry(stored, Buffer.from('b')), Buffer.from('b'));
    expect(Buffer.from(await spool.read(stored)).toString()).toBe('b');
  });

  it('lets a read, an update and a removal wait for a first write in progress', async () => {
    const spool = await open();
    const id = newSpoolId();
    const data = Buffer.from('in flight\n');
    spool.hold(entry(id, data), data);
    const writing = spool.update(entry(id, data, { num_attempts: 1 }));
    // Asked while the write is on its way: the bytes come from memory, the update follows it.
    expect(Buffer.from(await spool.read(id)).toString()).toBe('in flight\n');
    const updating = spool.update(entry(id, data, { num_attempts: 2 }));
    const removing = spool.remove(id);
    await Promise.all([writing, updating, removing]);
    expect(await all(spool)).toEqual(new Map());
    expect(spool.stats()).toMatchObject({ messages: 0, held: 0 });
  });
});
