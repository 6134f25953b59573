import { describe, expect, it } from 'vitest';
import { RememberedMetas } from './remembered.js';

describe('remembered metadata', () => {
  it('gives back what was copied for a slot, across chunks, until forgotten', () => {
    const metas = new RememberedMetas(256 * 1024);
    const source = Buffer.from('xx{"sender":"a@b"}yy');
    metas.remember(3, source, 2, source.length - 2);
    expect(metas.text(3)).toBe('{"sender":"a@b"}');
    expect(metas.text(4)).toBeUndefined();
    expect(metas.text(100_000)).toBeUndefined();
    // Enough to fill the first chunks: every slot keeps its own bytes.
    const big = Buffer.alloc(100_000, 'm');
    for (let slot = 10; slot < 30; slot++) {
      big.write(String(slot).padStart(6, '0'));
      metas.remember(slot, big, 0, big.length);
    }
    for (let slot = 10; slot < 30; slot++) {
      expect(metas.text(slot)?.slice(0, 6)).toBe(String(slot).padStart(6, '0'));
      expect(metas.text(slot)?.length).toBe(100_000);
    }
    metas.remember(3, Buffer.from('{"new":1}'), 0, 9); // an UPDATE met later
    expect(metas.text(3)).toBe('{"new":1}');
    metas.forget(3);
    expect(metas.text(3)).toBeUndefined();
    metas.clear();
    expect(metas.text(10)).toBeUndefined();
  });

  it('gives nothing out of an adopted chunk until it is read, checks it at first use, and drops one that cannot be used', async () => {
    const metas = new RememberedMetas(16);
    const unusable: string[] = [];
    metas.onUnusable = (problem) => unusable.push(problem);
    type Read = (() => string | undefined) | string;
    const reads: ((r: Read) => void)[] = [];
    const next = () => new Promise<Read>((r) => reads.push(r));
    const numbers = ['{"a":1}', '{"b":2}', '{"c":3}'].map((t) =>
      metas.adopt(Buffer.from(t), next()),
    );
    for (const [slot, no] of numbers.entries()) metas.place(slot, no, 0, 7);
    const loading = [0, 1, 2].map((slot) => metas.loading(slot));
    expect(loading.every((p) => p instanceof Promise)).toBe(true);
    expect([metas.text(0), metas.bytes(1), metas.loading(3)]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    let checks = 0;
    reads[0]!(() => {
      checks++;
      return undefined;
    });
    reads[1]!(() => 'checksum mismatch in metadata chunk 1');
    reads[2]!('metadata chunk 2 is cut short');
    await Promise.all(loading);
    expect([0, 1, 2].map((slot) => metas.loading(slot))).toEqual([undefined, undefined, undefined]);
    // Read, not yet checked: the check runs once, when a slot in it is first used.
    expect([checks, unusable]).toEqual([0, ['metadata chunk 2 is cut short']]);
    expect([metas.text(0), metas.text(0), checks]).toEqual(['{"a":1}', '{"a":1}', 1]);
    expect([metas.text(1), metas.text(2)]).toEqual([undefined, undefined]);
    expect(unusable).toEqual([
      'metadata chunk 2 is cut short',
      'checksum mismatch in metadata chunk 1',
    ]);
  });

  it('takes over chunks filled elsewhere (a checkpoint), several before any is placed', () => {
    const metas = new RememberedMetas(16);
    const chunks = ['{"a":1}{"b":22}', '{"c":333}', '{"d":4}'].map((t) => Buffer.from(t));
    const numbers = chunks.map((c) => metas.adopt(c));
    expect(numbers).toEqual([0, 1, 2]);
    metas.place(5, numbers[0]!, 0, 7);
    metas.place(6, numbers[0]!, 7, 8);
    metas.place(7, numbers[1]!, 0, 9);
    metas.place(8, numbers[2]!, 0, 7);
    expect([5, 6, 7, 8].map((slot) => metas.text(slot))).toEqual([
      '{"a":1}',
      '{"b":22}',
      '{"c":333}',
      '{"d":4}',
    ]);
    expect(metas.bytes(6)?.toString()).toBe('{"b":22}');
    // A chunk is let go once nothing in it is remembered, the last one kept until clear().
    metas.forget(5);
    expect(metas.chunks).toBe(3);
    metas.forget(6);
    expect(metas.chunks).toBe(2);
    // Remembering after an adoption starts a chunk of its own.
    metas.remember(9, Buffer.from('{"e":5}'), 0, 7);
    expect(metas.chunks).toBe(3);
    expect(metas.text(9)).toBe('{"e":5}');
    expect(metas.text(8)).toBe('{"d":4}');
    expect(() => metas.adopt(Buffer.alloc(17))).toThrow(RangeError);
  });

  it('does not keep a meta larger than a chunk (it is read from disk when needed)', () => {
    const metas = new RememberedMetas(256 * 1024);
    const huge = Buffer.alloc(300 * 1024, 'a');
    metas.remember(0, huge, 0, huge.length);
    expect(metas.text(0)).toBeUndefined();
  });

  it('lets a chunk go once everything in it was replaced or forgotten', () => {
    const metas = new RememberedMetas(1000);
    const meta = Buffer.alloc(400, 'm');
    metas.remember(0, meta, 0, 400);
    metas.remember(1, meta, 0, 400);
    metas.remember(2, meta, 0, 400); // a second chunk
    expect(metas.chunks).toBe(2);
    metas.remember(0, meta, 0, 300); // replaced (an UPDATE): the first chunk still holds slot 1
    expect(metas.chunks).toBe(2);
    metas.forget(1);
    expect(metas.chunks).toBe(1); // nothing left in the first one
    expect(metas.text(0)).toBe('m'.repeat(300));
    expect(metas.text(2)).toBe('m'.repeat(400));
    metas.forget(0);
    metas.forget(2);
    expect(metas.chunks).toBe(1); // the chunk being filled stays
    metas.remember(3, meta, 0, 400);
    metas.remember(4, meta, 0, 400); // a new chunk: the empty one before it goes
    expect(metas.chunks).toBe(1);
  });
});
