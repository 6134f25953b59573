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
