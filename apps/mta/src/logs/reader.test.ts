import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLogRecords, readSegment } from './reader.js';

/** One zstd frame of raw blocks and no content size, as a streaming encoder may write. */
function rawFrame(data: Buffer): Buffer {
  const header = (data.length << 3) | 1; // raw, last block
  return Buffer.concat([
    Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58]),
    Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff]),
    data,
  ]);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sterna-logs-reader-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('reading segments of other writers', () => {
  it('joins lines and UTF-8 characters split across frames', async () => {
    const text = Buffer.from('{"type":"Delivery","id":"ü1"}\n{"type":"Bounce","id":"é2"}\n');
    const cut1 = text.indexOf('ü') + 1; // inside the two bytes of ü
    const cut2 = text.indexOf('Bounce');
    const file = Buffer.concat([
      rawFrame(text.subarray(0, cut1)),
      rawFrame(text.subarray(cut1, cut2)),
      rawFrame(text.subarray(cut2)),
    ]);
    await writeFile(join(dir, '20260101-000000.000000000'), file);
    expect(await readLogRecords(dir)).toEqual([
      { type: 'Delivery', id: 'ü1' },
      { type: 'Bounce', id: 'é2' },
    ]);
    const segment = await readSegment(join(dir, '20260101-000000.000000000'));
    expect(segment).toMatchObject({ text: text.toString(), tornBytes: 0 });
  });
});
