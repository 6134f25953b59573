import { describe, expect, it } from 'vitest';
import { exactJson } from './exact-json.js';

describe('exactJson', () => {
  it('is the JSON of plain data, keys in their order', () => {
    expect(exactJson({ b: 1, a: [true, null, 'x', { c: 1.5 }] })).toBe(
      '{"b":1,"a":[true,null,"x",{"c":1.5}]}',
    );
    expect(exactJson({ a: 1, b: 2 })).not.toBe(exactJson({ b: 2, a: 1 }));
    expect(exactJson(Object.create(null))).toBe('{}');
  });

  it('is undefined for anything JSON would drop or change, however deep', () => {
    for (const bad of [
      { f: () => 1 },
      { u: undefined },
      { n: Number.NaN },
      { n: [Number.NEGATIVE_INFINITY] },
      { b: 1n },
      { s: Symbol('s') },
      { d: new Date(0) },
      { m: new Map() },
      { deep: { list: [{ buf: Buffer.from('x') }] } },
    ]) {
      expect(exactJson(bad)).toBeUndefined();
    }
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(exactJson(cycle)).toBeUndefined();
  });
});
