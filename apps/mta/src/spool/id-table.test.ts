import { randomBytes } from 'node:crypto';
import { newSpoolId } from '@sterna/core/engine';
import { describe, expect, it } from 'vitest';
import { IdTable } from './id-table.js';

// A deterministic generator, so a failure can be replayed.
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('the spool id table', () => {
  it('finds every id as a Map would, through adds and removes that shift runs back', () => {
    // Ids as the daemon makes them (one process: the last words never change, the first counts
    // up), and a small table, so runs of neighbours form and deletions must move them.
    const random = lcg(7);
    const table = new IdTable();
    const model = new Map<string, number>();
    const free: number[] = [];
    let nextSlot = 0;
    const ids: string[] = [];
    for (let step = 0; step < 20_000; step++) {
      if (model.size === 0 || random() < 0.55) {
        const id = newSpoolId();
        const slot = free.pop() ?? nextSlot++;
        table.growSlots(nextSlot);
        table.add(id, slot);
        model.set(id, slot);
        ids.push(id);
      } else {
        const id = ids[Math.floor(random() * ids.length)]!;
        const slot = model.get(id);
        if (slot === undefined) continue;
        table.remove(slot);
        model.delete(id);
        free.push(slot);
      }
      if (step % 997 === 0) {
        for (const id of ids) expect(table.find(id)).toBe(model.get(id) ?? -1);
      }
    }
    expect(table.size).toBe(model.size);
    for (const id of ids) expect(table.find(id)).toBe(model.get(id) ?? -1);
    // The order kept is the order added (a Map's insertion order), removed ids left out.
    const order: string[] = [];
    for (let s = table.first(); s >= 0; s = table.after(s)) order.push(table.id(s));
    expect(order).toEqual([...model.keys()]);
  });

  it('holds random ids too, and gives each back as text and as its 16 bytes', () => {
    const table = new IdTable();
    const bytes = randomBytes(16 * 3000);
    table.growSlots(3000);
    table.reserve(3000);
    for (let i = 0; i < 3000; i++) table.addBytes(bytes, i * 16, i);
    const out = Buffer.alloc(16);
    for (let i = 0; i < 3000; i++) {
      const hex = bytes.toString('hex', i * 16, i * 16 + 16);
      expect(table.find(hex)).toBe(i);
      expect(table.findBytes(bytes, i * 16)).toBe(i);
      expect(table.id(i)).toBe(hex);
      expect(table.holds(i, hex)).toBe(true);
      table.copyId(i, out, 0);
      expect(out.toString('hex')).toBe(hex);
    }
    expect(table.holds(0, table.id(1))).toBe(false);
  });

  it('takes a block of ids over as its storage, refuses a repeated one, and grows past it', () => {
    const n = 2000;
    const block = Buffer.alloc(16 * n + 16);
    randomBytes(16 * n).copy(block, 16); // the ids start 16 bytes in: still 4-aligned
    const ids = block.subarray(16);
    const table = new IdTable();
    expect(table.adopt(ids, n)).toBe(true);
    expect(table.size).toBe(n);
    for (let i = 0; i < n; i++) expect(table.findBytes(ids, i * 16)).toBe(i);
    const order: number[] = [];
    for (let s = table.first(); s >= 0; s = table.after(s)) order.push(s);
    expect(order).toEqual([...Array(n).keys()]);
    // Slots beyond the block: it is copied into room for them, and every id stays.
    table.growSlots(n + 10);
    const extra = 'f'.repeat(32);
    expect(table.add(extra, n)).toBe(true);
    expect(table.add(extra, n + 1)).toBe(false); // already there
    table.remove(0);
    expect([table.find(extra), table.find(ids.toString('hex', 0, 16)), table.first()]).toEqual([
      n,
      -1,
      1,
    ]);
    for (let i = 1; i < n; i++) expect(table.id(i)).toBe(ids.toString('hex', i * 16, i * 16 + 16));

    const twice = Buffer.concat([ids.subarray(0, 32), ids.subarray(0, 16)]);
    expect(new IdTable().adopt(twice, 3)).toBe(false);
    expect(() => new IdTable().adopt(block.subarray(1), 1)).toThrow(/4-aligned/);
  });

  it('finds nothing for text that is not a spool id, and refuses to add it', () => {
    const table = new IdTable();
    table.growSlots(1);
    const id = 'ab'.repeat(16);
    table.add(id, 0);
    expect(table.find(id.toUpperCase())).toBe(-1);
    expect(table.find(`${id}0`)).toBe(-1);
    expect(table.find('')).toBe(-1);
    expect(table.find(`${id.slice(0, 31)}g`)).toBe(-1);
    expect(table.holds(0, 'x')).toBe(false);
    expect(() => table.add('é'.repeat(32), 0)).toThrow(/not a spool id/);
    expect(table.size).toBe(1);
  });

  it('an empty table finds nothing and walks nothing', () => {
    const table = new IdTable();
    expect([table.find('0'.repeat(32)), table.first(), table.size]).toEqual([-1, -1, 0]);
  });
});
