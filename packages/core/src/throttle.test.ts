import { describe, expect, it } from 'vitest';
import { LocalConnectionLimits, LocalThrottles, parseThrottleSpec } from './throttle.js';

describe('parseThrottleSpec', () => {
  it.each([
    ['10/s', 10, 1, 10, false],
    ['10/sec', 10, 1, 10, false],
    ['50/minute', 50, 60, 50, false],
    ['1,000/hr', 1000, 3600, 1000, false],
    ['1_000/h', 1000, 3600, 1000, false],
    ['10_000/d', 10000, 86400, 10000, false],
    ['local:10/second', 10, 1, 10, true],
    ['20/30minute', 20, 1800, 20, false],
    ['60/minute,max_burst=1', 60, 60, 1, false],
    ['100/day, max_burst=1', 100, 86400, 1, false],
  ])('%s', (text, limit, period, maxBurst, local) => {
    expect(parseThrottleSpec(text)).toEqual({ text, limit, period, maxBurst, local });
  });

  it.each(['', '10', '10/fortnight', '0/s', 'ten/s', '10/s,max_burst=0', '10/s,burst=2'])(
    'refuses %j naming the form',
    (text) => {
      expect(() => parseThrottleSpec(text)).toThrow(
        `invalid throttle '${text}': expected [local:]quantity/period`,
      );
    },
  );
});

describe('LocalThrottles (GCRA)', () => {
  it('lets the whole quantity through at once without max_burst, then one per interval', () => {
    let now = 1_000_000;
    const t = new LocalThrottles(() => now);
    const spec = parseThrottleSpec('6/m');
    const results = Array.from({ length: 7 }, () => t.check('k', spec));
    expect(results.slice(0, 6).every((r) => !r.throttled)).toBe(true);
    expect(results.map((r) => r.remaining).slice(0, 6)).toEqual([5, 4, 3, 2, 1, 0]);
    expect(results[6]).toMatchObject({ throttled: true, retryAfter: 10, limit: 6 });
    now += 10_000;
    expect(t.check('k', spec).throttled).toBe(false);
    expect(t.check('k', spec).throttled).toBe(true);
  });

  it('spaces operations one interval apart with max_burst=1', () => {
    let now = 0;
    const t = new LocalThrottles(() => now);
    const spec = parseThrottleSpec('6/m,max_burst=1');
    expect(t.check('k', spec).throttled).toBe(false);
    const second = t.check('k', spec);
    expect(second).toMatchObject({ throttled: true, retryAfter: 10 });
    now += 9_999;
    expect(t.check('k', spec).throttled).toBe(true);
    now += 1;
    expect(t.check('k', spec).throttled).toBe(false);
  });

  it('keeps keys apart and forgets the ones whose time has passed', () => {
    let now = 0;
    const t = new LocalThrottles(() => now);
    const spec = parseThrottleSpec('1/s');
    for (let i = 0; i < 5000; i++) t.check(`queue-${i}`, spec);
    expect(t.check('queue-0', spec).throttled).toBe(true);
    now += 11_000;
    for (let i = 0; i < 1100; i++) t.check(`other-${i}`, spec);
    expect(t.size).toBeLessThan(2500);
  });
});

describe('LocalConnectionLimits', () => {
  it('hands out up to the limit, per name', () => {
    const limits = new LocalConnectionLimits();
    const a = limits.acquire('gmail', 2);
    const b = limits.acquire('gmail', 2);
    expect(a && b).toBeTruthy();
    expect(limits.acquire('gmail', 2)).toBeUndefined();
    expect(limits.acquire('yahoo', 2)).toBeDefined();
    a?.release();
    a?.release();
    expect(limits.held('gmail')).toBe(1);
    expect(limits.acquire('gmail', 2)).toBeDefined();
  });

  it('offers each released lease to one waiter, in line, skipping those that decline', () => {
    const limits = new LocalConnectionLimits();
    const lease = limits.acquire('shared', 1)!;
    const woken: string[] = [];
    limits.whenReleased('shared', () => {
      woken.push('idle');
      return false;
    });
    limits.whenReleased('shared', () => {
      woken.push('first');
      return true;
    });
    limits.whenReleased('shared', () => {
      woken.push('second');
      return true;
    });
    const leave = limits.whenReleased('shared', () => {
      woken.push('left');
      return true;
    });
    leave();
    lease.release();
    expect(woken).toEqual(['idle', 'first']);
    limits.acquire('shared', 1)!.release();
    expect(woken).toEqual(['idle', 'first', 'second']);
    limits.acquire('shared', 1)!.release();
    expect(woken).toEqual(['idle', 'first', 'second']);
  });
});
