import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@sterna/core';
import { afterEach, describe, expect, it } from 'vitest';
import { ShapingStateFile } from '../../src/queue/shaping-state.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('ShapingStateFile', () => {
  it('starts empty without a file, and reads back what it wrote', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sterna-state-'));
    const file = new ShapingStateFile(join(dir, 'shaping-state.json'), silentLogger);
    expect(await file.load()).toEqual({
      suspensions: [],
      bounces: [],
      readySuspensions: [],
      overrides: [],
    });
    const rule = { id: 'r1', name: 'a->b@smtp_client', reason: 'pause', expires: 42 };
    file.schedule(() => ({
      suspensions: [],
      bounces: [],
      readySuspensions: [rule],
      overrides: [],
    }));
    await file.flush();
    expect((await file.load()).readySuspensions).toEqual([rule]);
  });

  it('sets a corrupt file aside and starts without it, never failing the start', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sterna-state-'));
    const path = join(dir, 'shaping-state.json');
    await writeFile(path, '{ not json');
    const file = new ShapingStateFile(path, silentLogger);
    expect((await file.load()).suspensions).toEqual([]);
    expect(await readFile(`${path}.bad`, 'utf8')).toBe('{ not json');
    // A file of the wrong shape keeps only the lists it has.
    await writeFile(path, '{"suspensions": "many", "bounces": []}');
    expect(await file.load()).toMatchObject({ suspensions: [], bounces: [] });
  });
});
