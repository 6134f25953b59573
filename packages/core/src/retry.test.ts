import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_POLICY,
  delayForAttempt,
  inferNumAttempts,
  planRetry,
  type RetryPolicy,
  retryJitter,
  retrySchedule,
} from './retry.js';

// Replays failures with no jitter until the message expires, returning the gaps.
function simulate(policy: RetryPolicy): { gaps: number[]; expiredAfter: number; reason: string } {
  const created = 1_700_000_000_000;
  let now = created;
  let attempts = 0;
  const gaps: number[] = [];
  for (;;) {
    const decision = planRetry({
      policy,
      num_attempts: attempts,
      created,
      now,
      random: () => 0.5,
    });
    if (decision.kind === 'expire')
      return { gaps, expiredAfter: decision.num_attempts, reason: decision.reason };
    gaps.push(decision.delay);
    now = decision.due;
    attempts = decision.num_attempts;
  }
}

describe('the retry schedule (KumoMTA queue/test.rs vectors)', () => {
  it('R=2s, max_age=1024s', () => {
    expect(simulate({ retry_interval: 2, max_age: 1024 }).gaps).toEqual([
      2, 4, 8, 16, 32, 64, 128, 256, 512,
    ]);
    expect(retrySchedule({ retry_interval: 2, max_age: 1024 })).toEqual([
      2, 4, 8, 16, 32, 64, 128, 256, 512,
    ]);
  });

  it('R=2s capped at 8s', () => {
    const gaps = simulate({ retry_interval: 2, max_retry_interval: 8, max_age: 60 }).gaps;
    expect(gaps.slice(0, 6)).toEqual([2, 4, 8, 8, 8, 8]);
  });

  it('defaults with max_age = 1 day', () => {
    expect(simulate({ retry_interval: 1200, max_age: 86_400 }).gaps).toEqual([
      1200, 2400, 4800, 9600, 19200, 38400,
    ]);
  });

  it('with all defaults a message expires at the 9th failure, about 85 hours in', () => {
    const { gaps, expiredAfter, reason } = simulate(DEFAULT_RETRY_POLICY);
    expect(gaps).toHaveLength(8);
    expect(expiredAfter).toBe(9);
    expect(gaps.reduce((a, b) => a + b, 0)).toBe(306_000); // 85 h
    expect(reason).toBe(
      'Next delivery time would be 7days 2h 20m after creation, which exceeds max_age=7days',
    );
  });

  it('delayForAttempt doubles from the base and respects the cap', () => {
    expect(
      [0, 1, 2, 3].map((n) => delayForAttempt({ retry_interval: 5, max_age: 1e9 }, n)),
    ).toEqual([5, 10, 20, 40]);
    expect(delayForAttempt({ retry_interval: 5, max_retry_interval: 12, max_age: 1e9 }, 5)).toBe(
      12,
    );
    expect(Number.isFinite(delayForAttempt({ retry_interval: 5, max_age: 1e9 }, 2000))).toBe(true);
  });
});

describe('jitter', () => {
  it('stays within ±min(R/20, 60)/2 and is truncated to whole seconds', () => {
    const policy = { retry_interval: 1200, max_age: 1e9 };
    expect(retryJitter(policy, () => 0)).toBe(-30);
    expect(retryJitter(policy, () => 0.999999)).toBe(29);
    expect(retryJitter(policy, () => 0.5)).toBe(0);
    expect(retryJitter({ retry_interval: 1e6, max_age: 1e9 }, () => 0)).toBe(-30);
    expect(retryJitter({ retry_interval: 5, max_age: 1e9 }, () => 0)).toBe(0);
  });

  it('keeps successive gaps within the integration test bounds for R=5s', () => {
    const policy = { retry_interval: 5, max_age: 1e9 };
    for (let n = 0; n < 6; n++) {
      const d = planRetry({ policy, num_attempts: n, created: 0, now: 0, random: Math.random });
      if (d.kind !== 'retry') throw new Error('expired');
      expect(d.delay).toBeGreaterThanOrEqual(5 * 2 ** n - 1);
      expect(d.delay).toBeLessThanOrEqual(5 * 2 ** n * 1.5);
    }
  });
});

describe('planRetry', () => {
  it('counts the attempt and sets the due time', () => {
    const d = planRetry({
      policy: { retry_interval: 60, max_age: 3600 },
      num_attempts: 2,
      created: 0,
      now: 1000,
      random: () => 0.5,
    });
    expect(d).toEqual({ kind: 'retry', delay: 240, due: 1000 + 240_000, num_attempts: 3 });
  });

  it('a per-message expiry overrides max_age', () => {
    const policy = { retry_interval: 60, max_age: 10 };
    const kept = planRetry({
      policy,
      num_attempts: 0,
      created: 0,
      now: 0,
      expires: 61_000,
      random: () => 0.5,
    });
    expect(kept.kind).toBe('retry');
    const expired = planRetry({
      policy,
      num_attempts: 0,
      created: 0,
      now: 0,
      expires: 60_000,
      random: () => 0.5,
    });
    expect(expired.kind).toBe('expire');
    expect(expired.kind === 'expire' && expired.reason).toMatch(/configured via set_scheduling$/);
  });
});

describe('inferNumAttempts', () => {
  it('replays the schedule from the age', () => {
    const policy = { retry_interval: 2, max_age: 1024 };
    expect(inferNumAttempts(policy, 0)).toBe(0);
    expect(inferNumAttempts(policy, 1.9)).toBe(0);
    expect(inferNumAttempts(policy, 2)).toBe(1);
    expect(inferNumAttempts(policy, 6)).toBe(2);
    expect(inferNumAttempts(policy, 13)).toBe(2);
    expect(inferNumAttempts(DEFAULT_RETRY_POLICY, 3 * 3600)).toBe(3);
  });
});
