import { describe, expect, it } from 'vitest';
import { RateGates } from '../../src/queue/rate-gates.js';
import { Shaping } from '../../src/queue/shaping.js';
import type { QueuedMessage } from '../../src/queue/types.js';

const message = (id: string, queue = 'q.example'): QueuedMessage => ({
  id,
  sender: 's@example.org',
  recipients: ['r@q.example'],
  meta: {},
  size: 10,
  num_attempts: 0,
  due: 0,
  queue,
});

describe('RateGates', () => {
  it('lets a queue through at its rate, in order, and forgets the gate once empty', async () => {
    const shaping = new Shaping();
    const released: string[] = [];
    const gates = new RateGates(shaping, Date.now, (m) => released.push(m.id));
    const admitted: string[] = [];
    for (let i = 0; i < 15; i++) {
      const m = message(`m${i}`);
      if (await gates.admit(m, '5/s')) admitted.push(m.id);
    }
    expect(admitted).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(gates.counts().get('q.example')).toBe(10);
    const start = Date.now();
    while (released.length < 10 && Date.now() - start < 10_000)
      await new Promise((r) => setTimeout(r, 50));
    expect(released).toEqual(Array.from({ length: 10 }, (_, i) => `m${i + 5}`));
    expect(Date.now() - start).toBeGreaterThanOrEqual(1800);
    expect(gates.counts().size).toBe(0);
    gates.stop();
  });
});
