import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeDir } from './make-dir.js';

describe('makeDir', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sterna-mkdir-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates missing parents and accepts an existing directory', async () => {
    const deep = path.join(dir, 'a', 'b', 'c');
    await makeDir(deep);
    expect((await stat(deep)).isDirectory()).toBe(true);
    await makeDir(deep);
  });

  it('says ENOTDIR for a file in the way, at the end or above', async () => {
    const file = path.join(dir, 'file');
    await writeFile(file, 'x');
    await expect(makeDir(file)).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(makeDir(path.join(file, 'below'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });
});
