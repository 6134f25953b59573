import { describe, expect, it } from 'vitest';
import { TimerHeap } from '../../src/queue/timer-heap.js';

describe('TimerHeap', () => {
  it('fires every due item, however the far-future ones were pushed around them', async () => {
    // A deep heap mixing items due in an hour with items due now: a sift-down that compared
    // against the wrong item once left due items below future ones, unfired for an hour.
    const fired: number[] = [];
    const now = Date.now();
    const heap = new TimerHeap<{ due: number; n: number }>((item) => fired.push(item.n));
    for (let n = 0; n < 40; n++) heap.push({ due: now + 3_600_000 + n * 1000, n: 1000 + n });
    for (let n = 0; n < 40; n++) heap.push({ due: now - n, n });
    for (let n = 40; n < 80; n++) heap.push({ due: now + 3_600_000 - n, n: 1000 + n });
    const deadline = Date.now() + 5000;
    while (fired.length < 40 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    heap.stop();
    expect([...fired].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, n) => n));
    expect(heap.size).toBe(80);
  });

  it('pops in due order', async () => {
    const fired: number[] = [];
    const heap = new TimerHeap<{ due: number }>((item) => fired.push(item.due));
    const base = Date.now() - 10_000;
    const dues = Array.from({ length: 500 }, (_, i) => base + ((i * 7919) % 500));
    for (const due of dues) heap.push({ due });
    const deadline = Date.now() + 5000;
    while (fired.length < 500 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(fired).toEqual([...dues].sort((a, b) => a - b));
  });
});
