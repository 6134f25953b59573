import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compressFrame, loadZstd } from '../logs/zstd.js';
import { searchJourneys } from './journey.js';
import type { DashboardSources } from './sources.js';

const ID = '0a1b2c3d4e5f11f0a1b2c3d4e5f60718';
const record = (type: string, timestamp: number) => ({
  id: ID,
  type,
  timestamp,
  sender: 'from@example.org',
  recipient: 'someone@example.com',
  queue: 'example.com',
  response: { code: type === 'Reception' ? 250 : 450, enhanced_code: null, content: type },
});

// The engine holds nothing: the journey comes from the logs alone.
const sources = (logDirs: string[]) =>
  ({
    logDirs,
    engine: {
      heldMessages: () => [],
      locate: () => undefined,
    },
  }) as unknown as DashboardSources;

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function writeSegment(name: string, records: object[]): Promise<void> {
  await loadZstd();
  const text = records.map((r) => `${JSON.stringify(r)}\n`).join('');
  await writeFile(join(dir!, name), compressFrame(new TextEncoder().encode(text), 3));
}

describe('searchJourneys', () => {
  it('keeps writing order for records of the same second in two segments', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sterna-journey-'));
    // The segment rolled over between the Reception and the attempt, within one second.
    await writeSegment('20261203-101500.000000001', [record('Reception', 1_796_292_900)]);
    await writeSegment('20261203-101500.500000000', [record('TransientFailure', 1_796_292_900)]);
    for (const q of [ID, 'someone@example.com']) {
      const search = await searchJourneys(sources([dir]), q, Date.now());
      expect(search.logs?.segments_read).toBe(2);
      expect(search.journeys[0]!.events.map((e) => e.type)).toEqual([
        'Reception',
        'TransientFailure',
      ]);
    }
  });
});
