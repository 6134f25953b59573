import { describe, expect, it } from 'vitest';
import { HISTORY_SAMPLES, RateSampler } from './sampler.js';

describe('RateSampler', () => {
  it('keeps per-second differences, bounces and expirations together, oldest first', () => {
    const c = { received: 0, delivered: 0, transientFailures: 0, bounced: 0, expired: 0 };
    const sampler = new RateSampler(() => c);
    c.received = 5;
    c.delivered = 3;
    c.bounced = 1;
    c.expired = 2;
    expect(sampler.sample(1000)).toEqual({
      t: 1000,
      received: 5,
      delivered: 3,
      transient: 0,
      bounced: 3,
    });
    c.received = 6;
    c.transientFailures = 4;
    sampler.sample(2000);
    expect(sampler.history().map((s) => [s.t, s.received, s.transient])).toEqual([
      [1000, 5, 0],
      [2000, 1, 4],
    ]);
  });

  it('holds the last 900 samples (15 minutes) once the ring wraps', () => {
    const c = { received: 0, delivered: 0, transientFailures: 0, bounced: 0, expired: 0 };
    const sampler = new RateSampler(() => c);
    for (let t = 1; t <= HISTORY_SAMPLES + 25; t++) {
      c.received += t;
      sampler.sample(t);
    }
    const history = sampler.history();
    expect(history).toHaveLength(HISTORY_SAMPLES);
    expect(history[0]).toMatchObject({ t: 26, received: 26 });
    expect(history.at(-1)).toMatchObject({ t: HISTORY_SAMPLES + 25 });
  });

  it('refuses a capacity that is not a positive whole number', () => {
    const read = () => ({
      received: 0,
      delivered: 0,
      transientFailures: 0,
      bounced: 0,
      expired: 0,
    });
    expect(() => new RateSampler(read, 0)).toThrow(
      'sampler capacity: 0 is not a positive whole number',
    );
  });
});
