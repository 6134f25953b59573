import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.js';
import { isSternaError } from './errors.js';

describe('parseDuration', () => {
  it.each([
    ['20 minutes', 1200],
    ['1m', 60],
    ['10s', 10],
    ['1 hour', 3600],
    ['7 days', 604_800],
    ['1h 30m', 5400],
    ['1h30m', 5400],
    ['500ms', 0.5],
    ['2 weeks', 1_209_600],
    ['1day', 86_400],
    // humantime's other spellings, as KumoMTA accepts them
    ['17 mins', 1020],
    ['30 secs', 30],
    ['2 hrs', 7200],
    ['1 wk', 604_800],
    ['2wks', 1_209_600],
    ['1 yr', 31_557_600],
    ['250 millis', 0.25],
    ['1hr 5mins 10secs', 3910],
  ])('parses %j as %d seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it('takes numbers as seconds, fractions included', () => {
    expect(parseDuration(60)).toBe(60);
    expect(parseDuration(2.5)).toBe(2.5);
    expect(parseDuration(0)).toBe(0);
  });

  it.each(['', '10', 'ten seconds', '5 fortnights', '-5s', '5s garbage'])(
    'refuses %j with a clear error',
    (text) => {
      let caught: unknown;
      try {
        parseDuration(text, 'retry_interval');
      } catch (error) {
        caught = error;
      }
      expect(isSternaError(caught, 'STERNA_DURATION_INVALID')).toBe(true);
      expect((caught as Error).message).toMatch(/^retry_interval: /);
    },
  );

  it('refuses negative and non-finite numbers', () => {
    expect(() => parseDuration(-1)).toThrow(/non-negative/);
    expect(() => parseDuration(Number.NaN)).toThrow(/non-negative/);
    expect(() => parseDuration(true as unknown as number)).toThrow(/expected a number/);
  });
});

describe('formatDuration', () => {
  it('prints like humantime', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(604_800)).toBe('7days');
    expect(formatDuration(86_400 + 3600 + 61)).toBe('1day 1h 1m 1s');
  });
});
