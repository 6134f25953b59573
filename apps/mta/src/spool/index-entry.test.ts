import type { FileHandle } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { account, SpoolIndex } from './index-entry.js';
import { HEADER_SIZE } from './record.js';
import { newSegment } from './segment.js';

// Spool ids are 32 lowercase hex characters.
const a = 'a'.repeat(32);
const b = 'b'.repeat(32);
const c = 'c'.repeat(32);
const numbered = (prefix: string, i: number) => prefix + i.toString(16).padStart(31, '0');

describe('the spool index', () => {
  it('keeps each message in a slot of its columns, and uses freed slots again in a new life', () => {
    const index = new SpoolIndex();
    const sa = index.set(a, 1, 100, 20, 1000);
    const sb = index.set(b, 1, 2000, 30, 50);
    expect([
      index.count,
      index.seg[sa],
      index.off[sb],
      index.storeMeta[sb],
      index.size[sb],
    ]).toEqual([2, 1, 2000, 30, 50]);
    // Metadata first lives in the STORE record.
    expect([index.mseg[sa], index.moff[sa], index.mlen[sa]]).toEqual([1, 100, 20]);
    const born = index.born[sa]!;
    index.pending.set(sa, Buffer.from('{}'));
    const { slots, born: lives } = index.snapshot();
    expect([[...slots], [...lives], index.id(sa), index.id(sb)]).toEqual([
      [sa, sb],
      [born, index.born[sb]],
      a,
      b,
    ]);
    index.delete(a);
    expect(index.has(a)).toBe(false);
    expect(index.born[sa]).toBe(0); // free: a walk over the snapshot sees it is gone
    expect(index.pending.size).toBe(0);
    const sc = index.set(c, 2, 0, 10, 10);
    expect(sc).toBe(sa); // the freed slot
    expect(index.is(c, sc, born)).toBe(false); // a new life: late bookkeeping of a is refused
    expect(index.is(c, sc, index.born[sc]!)).toBe(true);
    expect(index.is(a, sa, born)).toBe(false);
    // The order first indexed, not the order of the slots.
    expect([...index.ids()]).toEqual([b, c]);
  });

  it('keeps the slot of an id stored again (a compaction copy met at recovery)', () => {
    const index = new SpoolIndex();
    const sa = index.set(a, 1, 100, 20, 1000);
    index.mseg[sa] = 3;
    expect(index.set(a, 4, 0, 25, 1000)).toBe(sa);
    expect([index.count, index.seg[sa], index.mseg[sa], index.mlen[sa]]).toEqual([1, 4, 4, 25]);
  });

  it('refuses an id that is not a spool id, and takes no slot for it', () => {
    const index = new SpoolIndex();
    expect(() => index.set('not-an-id', 1, 0, 1, 1)).toThrow(/not a spool id/);
    expect(() => index.set(a.toUpperCase(), 1, 0, 1, 1)).toThrow(/not a spool id/);
    expect([index.count, index.has('not-an-id'), index.slot('x')]).toEqual([0, false, undefined]);
    expect(index.set(a, 1, 0, 1, 1)).toBe(0); // the slot given back is the first taken again
  });

  it('grows past its first capacity and hands out every freed slot before a new one', () => {
    const index = new SpoolIndex();
    for (let i = 0; i < 5000; i++) index.set(numbered('a', i), i, i * 10, 1, i);
    for (let i = 0; i < 5000; i++) expect(index.off[index.slot(numbered('a', i))!]).toBe(i * 10);
    for (let i = 0; i < 5000; i += 2) index.delete(numbered('a', i));
    const reused = new Set<number>();
    for (let i = 0; i < 2500; i++) reused.add(index.set(numbered('b', i), 0, 0, 0, 0));
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
    const sa = index.set(a, 1, 0, 20, 100);
    account(segments, index, sa, 1);
    expect(one.live).toBe(HEADER_SIZE + 120);
    account(segments, index, sa, -1);
    index.mseg[sa] = 2;
    index.moff[sa] = 0;
    index.mlen[sa] = 30;
    account(segments, index, sa, 1);
    expect([one.live, two.live]).toEqual([HEADER_SIZE + 120, HEADER_SIZE + 30]);
  });
});
