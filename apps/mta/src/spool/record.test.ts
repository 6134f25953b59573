import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { newSpoolId } from '@sterna/core/engine';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  checksumMatches,
  decodeHeader,
  encodeRecord,
  HEADER_SIZE,
  REMOVE,
  STORE,
  UPDATE,
} from './record.js';
import { type ScannedRecord, scanSegment } from './scan.js';

function storeRecord(id: string, meta: string, data: Buffer): Buffer {
  const head = encodeRecord(STORE, id, Buffer.from(meta), data);
  return Buffer.concat([head, data]);
}

describe('records', () => {
  it('encode and decode', () => {
    const id = newSpoolId();
    const record = storeRecord(id, '{"a":1}', Buffer.from('hello'));
    const header = decodeHeader(record, 0);
    expect(header).toMatchObject({ type: STORE, id, metaLength: 7, dataLength: 5 });
    if (typeof header === 'string') throw new Error(header);
    expect(record.length).toBe(HEADER_SIZE + 12);
    expect(checksumMatches(record, header)).toBe(true);
    // Any flipped byte after the CRC field is caught, in the header, the meta or the data.
    for (const at of [8, 12, 20, HEADER_SIZE, record.length - 1]) {
      const bad = Buffer.from(record);
      bad[at]! ^= 0x40;
      const h = decodeHeader(bad, 0);
      expect(typeof h === 'string' || !checksumMatches(bad, h)).toBe(true);
    }
    expect(decodeHeader(Buffer.alloc(HEADER_SIZE), 0)).toBe('bad magic');
  });
});

describe('scanSegment', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sterna-scan-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function scan(bytes: Buffer) {
    const fh = await open(path.join(dir, 'seg'), 'w+');
    await fh.write(bytes, 0, bytes.length, 0);
    const seen: ScannedRecord[] = [];
    const end = await scanSegment(fh, bytes.length, (r) => {
      seen.push(r);
    });
    await fh.close();
    return { seen, end };
  }

  it('reads every record, large ones across chunk boundaries included', async () => {
    const ids = [newSpoolId(), newSpoolId(), newSpoolId()];
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 'x');
    const bytes = Buffer.concat([
      storeRecord(ids[0]!, '{}', Buffer.from('small')),
      storeRecord(ids[1]!, '{"b":2}', big),
      encodeRecord(UPDATE, ids[0]!, Buffer.from('{"u":1}')),
      encodeRecord(REMOVE, ids[2]!, Buffer.from('{"segment":1}')),
    ]);
    const { seen, end } = await scan(bytes);
    expect(end).toEqual({ end: bytes.length });
    expect(seen.map((r) => [r.type, r.id])).toEqual([
      [STORE, ids[0]],
      [STORE, ids[1]],
      [UPDATE, ids[0]],
      [REMOVE, ids[2]],
    ]);
    expect(seen[1]!.data.equals(big)).toBe(true);
    expect(seen[2]!.meta.toString()).toBe('{"u":1}');
  });

  it('stops at a torn tail and at a bad checksum, saying where', async () => {
    const a = storeRecord(newSpoolId(), '{}', Buffer.from('first'));
    const b = storeRecord(newSpoolId(), '{}', Buffer.from('second'));
    const torn = await scan(Buffer.concat([a, b.subarray(0, b.length - 3)]));
    expect(torn.seen).toHaveLength(1);
    expect(torn.end).toEqual({ end: a.length, problem: 'truncated record' });

    const short = await scan(Buffer.concat([a, b.subarray(0, 10)]));
    expect(short.end).toEqual({ end: a.length, problem: 'truncated record header' });

    const flipped = Buffer.concat([a, b]);
    flipped[flipped.length - 1]! ^= 1;
    const bad = await scan(flipped);
    expect(bad.seen).toHaveLength(1);
    expect(bad.end).toEqual({ end: a.length, problem: 'checksum mismatch' });
  });
});
