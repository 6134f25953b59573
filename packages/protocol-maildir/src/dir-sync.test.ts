import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectorySyncer, fsyncDirectory } from './dir-sync.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sterna-dirsync-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

// The real fsync, recording when each one starts and ends.
function recording() {
  const events: string[] = [];
  let n = 0;
  const syncer = new DirectorySyncer();
  const fsync = (d: string) => async () => {
    const id = ++n;
    events.push(`start ${id}`);
    await fsyncDirectory(d);
    events.push(`end ${id}`);
  };
  return { syncer, events, fsync };
}

describe('DirectorySyncer', () => {
  it('issues one fsync for a lone caller', async () => {
    const { syncer, events, fsync } = recording();
    await syncer.sync(dir, fsync(dir));
    expect(events).toEqual(['start 1', 'end 1']);
    expect(syncer.issued).toBe(1);
  });

  it('makes later callers wait for a sync that starts after them, and share it', async () => {
    const { syncer, events, fsync } = recording();
    const order: string[] = [];
    const first = syncer
      .sync(dir, fsync(dir))
      .then(() => order.push(`first after ${events.length}`));
    const later = Array.from({ length: 10 }, (_, i) =>
      syncer.sync(dir, fsync(dir)).then(() => order.push(`later${i} after ${events.length}`)),
    );
    await Promise.all([first, ...later]);
    expect(syncer.issued).toBe(2);
    expect(events).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
    // The first caller is covered by sync 1; every later caller only by sync 2.
    expect(order[0]).toBe('first after 2');
    expect(order.slice(1).every((o) => o.endsWith('after 4'))).toBe(true);
  });

  it('keeps directories apart', async () => {
    const { syncer, fsync } = recording();
    await Promise.all([syncer.sync(dir, fsync(dir)), syncer.sync(tmpdir(), fsync(tmpdir()))]);
    expect(syncer.issued).toBe(2);
  });

  it('passes a failure to its waiters and recovers', async () => {
    const syncer = new DirectorySyncer();
    const missing = join(dir, 'missing');
    await expect(syncer.sync(missing, () => fsyncDirectory(missing))).rejects.toMatchObject({
      code: 'ENOENT',
    });
    await expect(syncer.sync(dir, () => fsyncDirectory(dir))).resolves.toBeUndefined();
  });
});

describe('DirectorySyncer without grouping', () => {
  it('issues one fsync per caller', async () => {
    const syncer = new DirectorySyncer({ group: false });
    await Promise.all(Array.from({ length: 5 }, () => syncer.sync(dir, () => fsyncDirectory(dir))));
    expect(syncer.issued).toBe(5);
  });
});
