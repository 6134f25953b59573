import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { newSpoolId } from '@sterna/core/engine';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  openSpool,
  type Spool,
  type SpoolEntry,
  type SpoolOptions,
} from '../../src/spool/index.js';

const SEGMENT = 64 * 1024;

function body(id: string, length: number): Buffer {
  return Buffer.from(`${id}\r\n`.repeat(Math.ceil(length / 34)).slice(0, length));
}

function entry(id: string, size: number, attempts?: number): SpoolEntry {
  return {
    id,
    sender: 's@example.com',
    recipients: ['r@example.net'],
    meta: {},
    size,
    num_attempts: attempts,
  };
}

async function diskUse(dir: string): Promise<number> {
  let n = 0;
  for (const name of await readdir(dir)) {
    // Compaction may delete a segment between the listing and the stat.
    n += (await stat(path.join(dir, name)).catch(() => ({ size: 0 }))).size;
  }
  return n;
}

/**
 * Waits (bounded, 30 s) until background compaction has nothing left to do: the spool says so,
 * however long a busy machine takes over a compaction.
 */
async function settle(spool: Spool): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (spool.stats().compacting && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('spool compaction', () => {
  let dir: string;
  let options: SpoolOptions;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sterna-spool-compact-'));
    options = {
      dataPath: path.join(dir, 'data'),
      metaPath: path.join(dir, 'meta'),
      minFreeSpace: 0,
      segmentSize: SEGMENT,
      removeFlushDelay: 10,
    };
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps disk use bounded while many messages come and go', async () => {
    const spool = await openSpool(options);
    const live = new Map<string, number>();
    const peaks: number[] = [];
    // 40 rounds x 100 messages of ~1 KiB = ~4 MB written in all; one in ten is kept a while
    // and updated, the rest removed at once (delivered), as a busy queue would.
    for (let round = 0; round < 40; round++) {
      const ids = Array.from({ length: 100 }, () => newSpoolId());
      await Promise.all(ids.map((id, i) => spool.store(entry(id, 900 + i), body(id, 900 + i))));
      for (const [i, id] of ids.entries()) {
        if (i % 10 === 0) live.set(id, 900 + i);
        else await spool.remove(id);
      }
      // Keep about 100 alive: the oldest go, the survivors get an attempt counted.
      for (const id of [...live.keys()].slice(0, Math.max(0, live.size - 100))) {
        await spool.remove(id);
        live.delete(id);
      }
      for (const [id, size] of [...live].slice(0, 5)) await spool.update(entry(id, size, round));
      peaks.push(await diskUse(options.dataPath));
    }
    await settle(spool);
    const { compactions, diskBytes, messages } = spool.stats();
    expect(messages).toBe(live.size);
    expect(compactions).toBeGreaterThan(20);
    // ~4 MB went through; what stays on disk is the live ~100 KB plus a few segments of slack.
    const liveBytes = [...live.values()].reduce((n, s) => n + s + 200, 0);
    expect(diskBytes!).toBeLessThan(liveBytes * 2 + 4 * SEGMENT);
    expect(Math.max(...peaks.slice(10))).toBeLessThan(liveBytes * 2 + 6 * SEGMENT);
    expect(Math.max(...peaks.slice(10))).toBeLessThan(4_000_000 / 4);
    for (const [id, size] of live)
      expect(Buffer.from(await spool.read(id))).toEqual(body(id, size));
    const updated = new Map<string, number | undefined>();
    for await (const e of spool.enumerate()) updated.set(e.id, e.num_attempts);
    await spool.close();

    // After the copies and deletions, a reopen finds exactly the live set and latest updates.
    const again = await openSpool(options);
    const found = new Map<string, number | undefined>();
    for await (const e of again.enumerate()) found.set(e.id, e.num_attempts);
    expect(found).toEqual(updated);
    for (const [id, size] of live)
      expect(Buffer.from(await again.read(id))).toEqual(body(id, size));
    await again.close();
  });

  it('deletes segments left empty at open, and never resurrects removed messages', async () => {
    const spool = await openSpool(options);
    const keep = newSpoolId();
    await spool.store(entry(keep, 10), body(keep, 10));
    const gone = Array.from({ length: 200 }, () => newSpoolId());
    for (const id of gone) await spool.store(entry(id, 1000), body(id, 1000));
    for (const id of gone) await spool.remove(id);
    await settle(spool);
    await spool.close();
    const again = await openSpool(options);
    await settle(again);
    const ids: string[] = [];
    for await (const e of again.enumerate()) ids.push(e.id);
    expect(ids).toEqual([keep]);
    expect(again.stats().diskBytes!).toBeLessThan(2 * SEGMENT);
    await again.close();
  });
});
