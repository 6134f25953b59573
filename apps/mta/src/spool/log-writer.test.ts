import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Logger, silentLogger } from '@sterna/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogWriter } from './log-writer.js';
import { type Segment, segmentName } from './segment.js';

describe('LogWriter (group commit)', () => {
  let dir: string;
  let segments: Map<number, Segment>;
  let sealed: number[];
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sterna-writer-'));
    segments = new Map();
    sealed = [];
  });
  afterEach(async () => {
    for (const s of segments.values()) await s.fh.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });

  async function writer(segmentSize = 1 << 20, logger: Logger = silentLogger) {
    const dirHandle = await open(dir, 'r');
    const w = new LogWriter({
      dir,
      dirHandle,
      segments,
      firstSegment: 1,
      segmentSize,
      lazyDelay: 30,
      logger,
      onSealed: (s) => sealed.push(s.no),
    });
    return { w, dirHandle };
  }

  it('writes everything that queued during a sync with one more sync, in queue order', async () => {
    const { w, dirHandle } = await writer();
    const places: [number, number, string][] = [];
    const records = Array.from({ length: 200 }, (_, i) => Buffer.from(`record ${i};`));
    await Promise.all(
      records.map((r, i) =>
        w.append([r], r.length, true, (seg, off) => places.push([seg.no, off, `record ${i};`])),
      ),
    );
    // The first append starts a round alone; the other 199 queue behind it and share one.
    expect(w.syncs).toBe(2);
    const file = await readFile(path.join(dir, segmentName(1)), 'utf8');
    expect(file).toBe(records.join(''));
    for (const [no, off, text] of places) {
      expect(no).toBe(1);
      expect(file.slice(off, off + text.length)).toBe(text);
    }
    await w.close();
    await dirHandle.close();
  });

  it('lets lazy records wait for a round, or for lazyDelay', async () => {
    const { w, dirHandle } = await writer();
    let lazyDone = false;
    const lazy = w.append([Buffer.from('lazy;')], 5, false).then(() => {
      lazyDone = true;
    });
    await new Promise((r) => setTimeout(r, 5));
    expect(lazyDone).toBe(false);
    expect(w.syncs).toBe(0);
    await lazy; // forced after ~30 ms
    expect(w.syncs).toBe(1);
    const late = w.append([Buffer.from('late;')], 5, false);
    await w.append([Buffer.from('urgent;')], 7, true); // carries the lazy one with it
    await late;
    expect(w.syncs).toBe(2);
    expect(await readFile(path.join(dir, segmentName(1)), 'utf8')).toBe('lazy;late;urgent;');
    await w.flush(); // nothing queued: no sync, no new segment
    expect(w.syncs).toBe(2);
    await w.close();
    await dirHandle.close();
  });

  it('starts a new segment past segmentSize and after a failed write', async () => {
    const errors: string[] = [];
    const logger = { ...silentLogger, error: (m: string) => errors.push(m) };
    const { w, dirHandle } = await writer(10, logger);
    await w.append([Buffer.from('0123456789AB')], 12, true); // over 10 bytes: sealed
    expect(sealed).toEqual([1]);
    await w.append([Buffer.from('second')], 6, true);
    expect([...segments.keys()]).toEqual([1, 2]);
    // Pull the file out from under the writer: the next round fails and is refused.
    await segments.get(2)!.fh.close();
    await expect(w.append([Buffer.from('lost')], 4, true)).rejects.toMatchObject({
      code: 'STERNA_SPOOL_WRITE',
      message: expect.stringContaining('EBADF'),
    });
    expect(sealed).toEqual([1, 2]);
    expect(errors).toEqual(['spool could not cut a failed write back']);
    await w.append([Buffer.from('third')], 5, true);
    expect(await readFile(path.join(dir, segmentName(3)), 'utf8')).toBe('third');
    expect(await readFile(path.join(dir, segmentName(2)), 'utf8')).toBe('second');
    await w.close();
    await dirHandle.close();
  });
});
