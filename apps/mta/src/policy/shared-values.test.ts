import { describe, expect, it } from 'vitest';
import { SharedValues } from './shared-values.js';

describe('SharedValues', () => {
  it('gives the first of equal values, frozen, and stays bounded', () => {
    const shared = new SharedValues<Record<string, unknown>>(2);
    const a = shared.share({ retry_interval: 1200, protocol: { smtp: {} } });
    expect(shared.share({ retry_interval: 1200, protocol: { smtp: {} } })).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(() => {
      a.retry_interval = 1;
    }).toThrow(TypeError);
    const b = shared.share({ retry_interval: 60 });
    expect(b).not.toBe(a);
    // Full at two: a third distinct value starts the table over; equal values still compare.
    const c = shared.share({ retry_interval: 5 });
    expect(shared.share({ retry_interval: 5 })).toBe(c);
    const again = shared.share({ retry_interval: 1200, protocol: { smtp: {} } });
    expect(again).toEqual(a);
  });
});

describe('SharedValues.parse', () => {
  it('parses each distinct raw table once; inexact or failing ones are parsed every time', () => {
    const shared = new SharedValues<Record<string, unknown>>();
    let parses = 0;
    const parse = (raw: Record<string, unknown>) => {
      parses += 1;
      if (raw.retry_interval === 'bad') throw new Error('retry_interval: not a duration');
      return { ...raw, filled: true };
    };
    const a = shared.parse({ retry_interval: '20m' }, parse);
    expect(shared.parse({ retry_interval: '20m' }, parse)).toBe(a);
    expect(parses).toBe(1);
    expect(a).toEqual({ retry_interval: '20m', filled: true });
    // A different raw table whose result equals one known is parsed, then shared.
    expect(shared.parse({ filled: true, retry_interval: '20m' }, parse)).not.toBe(a);
    expect(parses).toBe(2);
    // A parse that throws is not remembered: the same table throws again.
    expect(() => shared.parse({ retry_interval: 'bad' }, parse)).toThrow(/not a duration/);
    expect(() => shared.parse({ retry_interval: 'bad' }, parse)).toThrow(/not a duration/);
    expect(parses).toBe(4);
    // JSON would lose these, so each is parsed on every call.
    for (const raw of [{ f: () => 1 }, { n: Number.POSITIVE_INFINITY }, { d: new Date(0) }]) {
      shared.parse(raw, parse);
      shared.parse(raw, parse);
    }
    expect(parses).toBe(10);
  });
});
