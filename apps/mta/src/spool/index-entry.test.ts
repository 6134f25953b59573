import type { FileHandle } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { account, SpoolIndex } from './index-entry.js';
import { HEADER_SIZE } from './record.js';
import { newSegment } from './segment.js';

describe('the spool index', () => {
  it('keeps each message in a slot of its columns, and uses freed slots again in a new life', () => {
    const index = new SpoolIndex();
    const a = index.set('a', 1, 100, 20, 1000);
    const b = index.set('b', 1, 2000, 30, 50);
    expect([index.count, index.seg[a], index.off[b], index.storeMeta[b], index.size[b]]).toEqual([
      2, 1, 2000, 30, 50,
    ]);
    // Metadata first lives in the STORE record.
    expect([index.mseg[a], index.moff[a], index.mlen[a]]).toEqual([1, 100, 20]);
    const born = index.born[a]!;
    index.pending.set(a, Buffer.from('{}'));
    const { ids, slots, born: lives } = index.snapshot();
    expect([ids, [...slots], [...lives]]).toEqual([
      ['a', 'b'],
      [a, b],
      [born, index.born[b]],
    ]);
    index.delete('a');
    expect(index.has('a')).toBe(false);
    expect(index.born[a]).toBe(0); // free: a walk over the snapshot sees it is gone
    expect(index.pending.size).toBe(0);
    const c = index.set('c', 2, 0, 10, 10);
    expect(c).toBe(a); // the freed slot
    expect(index.is('c', c, born)).toBe(false); // a new life: late bookkeeping of 'a' is refused
    expect(index.is('c', c, index.born[c]!)).toBe(true);
    expect(index.is('a', a, born)).toBe(false);
    expect([...index.ids()]).toEqual(['b', 'c']);
  });

  it('keeps the slot of an id stored again (a compaction copy met at recovery)', () => {
    const index = new SpoolIndex();
    const a = index.set('a', 1, 100, 20, 1000);
    index.mseg[a] = 3;
    expect(index.set('a', 4, 0, 25, 1000)).toBe(a);
    expect([index.count, index.seg[a], index.mseg[a], index.mlen[a]]).toEqual([1, 4, 4, 25]);
  });

  it('grows past its first capacity and hands out every freed slot before a new one', () => {
    const index = new SpoolIndex();
    for (let i = 0; i < 5000; i++) index.set(`m${i}`, i, i * 10, 1, i);
    for (let i = 0; i < 5000; i++) expect(index.off[index.slot(`m${i}`)!]).toBe(i * 10);
    for (let i = 0; i < 5000; i += 2) index.delete(`m${i}`);
    const reused = new Set<number>();
    for (let i = 0; i < 2500; i++) reused.add(index.set(`n${i}`, 0, 0, 0, 0));
    expect(reused.size).toBe(2500);
    expect(Math.max(...reused)).toBeLessThan(5000);
    expect(index.count).toBe(5000);
  });

  it('counts a message’s records as live in their segments', () => {
    const one = newSegment('/spool', 1, {} as FileHandle, 0);
    const two = newSegment('/spool', 2, {} as FileHandle, 0);
    const segments = new Map([
      [1, one],
      [2, two],
    ]);
    const index = new SpoolIndex();
    const a = index.set('a', 1, 0, 20, 100);
    account(segments, index, a, 1);
    expect(one.live).toBe(HEADER_SIZE + 120);
    account(segments, index, a, -1);
    index.mseg[a] = 2;
    index.moff[a] = 0;
    index.mlen[a] = 30;
    account(segments, index, a, 1);
    expect([one.live, two.live]).toEqual([HEADER_SIZE + 120, HEADER_SIZE + 30]);
  });
});
