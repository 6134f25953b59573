import { describe, expect, it } from 'vitest';
import { isSegmentName, segmentName } from './segment.js';

describe('segment names', () => {
  it('are the UTC time as YYYYMMDD-HHMMSS.nanoseconds', () => {
    const ms = Date.UTC(2026, 7, 4, 13, 41, 30, 440);
    expect(segmentName(BigInt(ms) * 1_000_000n + 526_026n)).toBe('20260804-134130.440526026');
    expect(segmentName(BigInt(Date.UTC(2027, 0, 2, 3, 4, 5)) * 1_000_000n)).toBe(
      '20270102-030405.000000000',
    );
  });

  it('are recognised with or without a suffix', () => {
    expect(isSegmentName('20260804-134130.440526026')).toBe(true);
    expect(isSegmentName('20260804-134130.440526026_recv')).toBe(true);
    expect(isSegmentName('20260804-134130')).toBe(false);
    expect(isSegmentName('.20260804-134130.440526026')).toBe(false);
  });
});
