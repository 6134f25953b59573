import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compressFrame, loadZstd } from '../logs/zstd.js';
import { LogFollower } from './log-follower.js';

const frame = (text: string) => compressFrame(new TextEncoder().encode(text), 3);

describe('LogFollower', () => {
  let dir: string;
  beforeEach(async () => {
    await loadZstd();
    dir = await mkdtemp(join(tmpdir(), 'sterna-follow-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('reads frames as a segment grows, keeps a line split across frames, waits for a torn frame', async () => {
    const seen: string[] = [];
    const follower = new LogFollower(dir, (path) => seen.push(path));
    expect(await follower.poll()).toEqual([]);

    const first = join(dir, '20261202-210000.000000000');
    await writeFile(first, frame('{"n":1}\n{"n":'));
    expect(await follower.poll()).toEqual(['{"n":1}']);
    expect(seen).toEqual([first]);

    await appendFile(first, frame('2}\n'));
    expect(await follower.poll()).toEqual(['{"n":2}']);

    const third = frame('{"n":3}\n');
    await appendFile(first, third.subarray(0, 5)); // the writer is mid-frame
    expect(await follower.poll()).toEqual([]);
    await appendFile(first, third.subarray(5));
    expect(await follower.poll()).toEqual(['{"n":3}']);

    const second = join(dir, '20261202-210001.000000000');
    await writeFile(second, frame('{"n":4}\n'));
    expect(await follower.poll()).toEqual(['{"n":4}']);
    expect(seen).toEqual([first, second]);
    expect(await follower.poll()).toEqual([]);
  });

  it('names a file that is not a zstd segment', async () => {
    await writeFile(join(dir, 'notes.txt'), 'hello\n');
    await expect(new LogFollower(dir).poll()).rejects.toThrow(
      /notes\.txt: no zstd frame at byte 0/,
    );
  });
});
