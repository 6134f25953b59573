import { describe, expect, it } from 'vitest';
import { SourceRotation, type WeightedEntry } from '../../src/queue/source-rotation.js';

const picks = (rotation: SourceRotation, n: number) =>
  Array.from({ length: n }, () => rotation.next()?.name);

const counts = (names: readonly (string | undefined)[]) => {
  const seen: Record<string, number> = {};
  for (const name of names) if (name) seen[name] = (seen[name] ?? 0) + 1;
  return seen;
};

// A random source that always answers the same number.
const fixed = (value: number) => () => value;

describe('weighted round robin over a pool', () => {
  it('interleaves by weight: 3:1 gives a a b a, every four picks', () => {
    const rotation = new SourceRotation(
      [
        { name: 'a', weight: 3 },
        { name: 'b', weight: 1 },
      ],
      fixed(0),
    );
    expect(picks(rotation, 8)).toEqual(['a', 'a', 'b', 'a', 'a', 'a', 'b', 'a']);
  });

  it('holds the weights exactly over every whole round', () => {
    const entries: WeightedEntry[] = [
      { name: 'a', weight: 5 },
      { name: 'b', weight: 2 },
      { name: 'c', weight: 1 },
    ];
    for (const start of [0, 0.3, 0.99]) {
      expect(counts(picks(new SourceRotation(entries, fixed(start)), 80))).toEqual({
        a: 50,
        b: 20,
        c: 10,
      });
    }
  });

  it('is plain round robin when the weights are equal', () => {
    const entries = ['x', 'y', 'z'].map((name) => ({ name, weight: 1 }));
    expect(picks(new SourceRotation(entries, fixed(0)), 6)).toEqual(['x', 'y', 'z', 'x', 'y', 'z']);
  });

  it('starts at the step the random source names, so queues do not all begin alike', () => {
    const entries = ['x', 'y', 'z'].map((name) => ({ name, weight: 1 }));
    // 3 steps in a round: 0.4 skips one, 0.7 skips two.
    expect(picks(new SourceRotation(entries, fixed(0.4)), 3)).toEqual(['y', 'z', 'x']);
    expect(picks(new SourceRotation(entries, fixed(0.7)), 3)).toEqual(['z', 'x', 'y']);
    // Weights 30:10 are one round of 4 steps (3:1), not 40: the start skips within it.
    const big = new SourceRotation(
      [
        { name: 'a', weight: 30 },
        { name: 'b', weight: 10 },
      ],
      fixed(0.5),
    );
    expect(picks(big, 4)).toEqual(['b', 'a', 'a', 'a']);
  });

  it('never picks a weight of 0, and picks nothing from a pool without weight', () => {
    const rotation = new SourceRotation(
      [
        { name: 'off', weight: 0 },
        { name: 'on', weight: 2 },
      ],
      fixed(0.5),
    );
    expect(picks(rotation, 5)).toEqual(['on', 'on', 'on', 'on', 'on']);
    const empty = new SourceRotation([{ name: 'off', weight: 0 }], fixed(0));
    expect(empty.empty).toBe(true);
    expect(empty.next()).toBeUndefined();
    expect(new SourceRotation([], fixed(0)).next()).toBeUndefined();
  });
});
