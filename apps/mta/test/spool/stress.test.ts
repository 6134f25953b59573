import { mkdtemp, rm } from 'node:fs/promises';
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

// A seeded generator, so a failure can be replayed.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function body(id: string, length: number): Buffer {
  return Buffer.from(`${id}.`.repeat(Math.ceil(length / 33)).slice(0, length));
}

interface Model {
  size: number;
  attempts: number;
  recipients: string[];
}

function entry(id: string, m: Model): SpoolEntry {
  return {
    id,
    sender: 'stress@example.com',
    recipients: m.recipients,
    meta: { attempts: m.attempts, pad: 'p'.repeat(m.attempts % 50) },
    size: m.size,
    num_attempts: m.attempts,
    due: 1_700_000_000_000 + m.attempts,
  };
}

async function expectMatches(spool: Spool, model: Map<string, Model>): Promise<void> {
  const found = new Map<string, SpoolEntry>();
  for await (const e of spool.enumerate()) found.set(e.id, e);
  expect([...found.keys()].sort()).toEqual([...model.keys()].sort());
  for (const [id, m] of model) {
    expect(found.get(id)).toEqual(entry(id, m));
    expect(Buffer.from(await spool.read(id)).equals(body(id, m.size))).toBe(true);
  }
}

describe('spool under concurrent stores, updates, removes and compaction', () => {
  let dir: string;
  let options: SpoolOptions;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sterna-spool-stress-'));
    options = {
      dataPath: path.join(dir, 'data'),
      metaPath: path.join(dir, 'data'),
      minFreeSpace: 0,
      segmentSize: 32 * 1024,
      compactBelow: 0.6,
      removeFlushDelay: 2,
    };
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const seed of [1, 2]) {
    it(`agrees with a model after every operation settles (seed ${seed})`, async () => {
      const random = rng(seed);
      const model = new Map<string, Model>();
      let spool = await openSpool(options);
      let compactions = 0;
      // 8 concurrent workers, 3000 operations in all; every other round of 500 reopens.
      for (let round = 0; round < 6; round++) {
        let ops = 500;
        await Promise.all(
          Array.from({ length: 8 }, async () => {
            while (ops-- > 0) {
              const ids = [...model.keys()];
              const pick = ids[Math.floor(random() * ids.length)];
              const r = random();
              if (r < 0.4 || pick === undefined) {
                const id = newSpoolId();
                const m = {
                  size: 1 + Math.floor(random() * 3000),
                  attempts: 0,
                  recipients: ['a@x.example'],
                };
                await spool.store(entry(id, m), body(id, m.size));
                model.set(id, m);
              } else if (r < 0.65) {
                const m = model.get(pick)!;
                const next = {
                  ...m,
                  attempts: m.attempts + 1,
                  recipients: m.recipients.concat(`r${m.attempts}@x.example`),
                };
                model.set(pick, next);
                await spool.update(entry(pick, next));
              } else if (r < 0.9) {
                model.delete(pick);
                await spool.remove(pick);
              } else {
                const m = model.get(pick)!;
                const data = await spool.read(pick);
                expect(Buffer.from(data).equals(body(pick, m.size))).toBe(true);
              }
            }
          }),
        );
        await expectMatches(spool, model);
        if (round % 2 === 1) {
          compactions += spool.stats().compactions!;
          await spool.close();
          spool = await openSpool(options);
          await expectMatches(spool, model);
        }
      }
      expect(spool.stats().messages).toBe(model.size);
      expect(compactions).toBeGreaterThan(10); // the interleavings above included compaction
      await spool.close();
    });
  }
});
