import type { FileHandle } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { pickSegment, worthCompacting } from './compaction.js';
import { newSegment, noteRemoval, type Segment } from './segment.js';

function segment(no: number, size: number, live: number, sealed = true): Segment {
  const s = newSegment('/spool', no, {} as FileHandle, size);
  s.live = live;
  s.sealed = sealed;
  return s;
}

describe('choosing a segment to compact', () => {
  it('takes sealed segments below the threshold, emptiest first', () => {
    const segments = new Map(
      [
        segment(1, 1000, 600),
        segment(2, 1000, 300),
        segment(3, 1000, 100),
        segment(4, 1000, 0, false),
      ].map((s) => [s.no, s] as const),
    );
    expect(pickSegment(segments, 0.5)?.no).toBe(3);
    segments.get(3)!.retryAfter = Date.now() + 60_000; // kept recently: left alone for a while
    expect(pickSegment(segments, 0.5)?.no).toBe(2);
    expect(pickSegment(segments, 0.2)).toBeUndefined();
  });

  it('always frees a segment with nothing needed in it, whatever the threshold', () => {
    expect(worthCompacting(segment(1, 5000, 0), 0)).toBe(true);
    expect(worthCompacting(segment(1, 0, 0), 0)).toBe(true);
    expect(worthCompacting(segment(1, 5000, 1), 0)).toBe(false);
    expect(worthCompacting(segment(1, 5000, 0, false), 0.5)).toBe(false); // still being written
  });

  it('counts removal records that still hide a STORE elsewhere as live', () => {
    const older = segment(1, 1000, 900);
    const removals = segment(2, 100, 0);
    const segments = new Map([
      [1, older],
      [2, removals],
    ]);
    noteRemoval(segments, removals, 1, 80); // hides a STORE in segment 1: needed
    noteRemoval(segments, removals, 2, 10); // its STORE is in the same segment: not needed
    noteRemoval(segments, removals, 7, 10); // segment 7 is gone: not needed
    expect(removals.removeTargets).toEqual(new Map([[1, 80]]));
    expect(worthCompacting(removals, 0.5)).toBe(false); // 80 of 100 bytes needed
  });
});
