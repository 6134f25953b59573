import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger } from '@sterna/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { restoreSpool } from '../../src/daemon/boot/start-queues.js';
import { REBIND_CONCURRENCY } from '../../src/queue/queue-admin.js';
import { openSpool, type Spool, type SpoolEntry } from '../../src/spool/index.js';
import { idleEngine, storeWaiting } from '../support/idle-engine.js';

// An admin rebind of a deep queue, on a real spool and a real queue engine whose messages are
// all due in 20 minutes: the spool updates go several at a time (so the log commits them
// together), and every message is updated and stays queued.

const N = 2500;

/** The spool, with its updates counted: how many, and the most in flight at once. */
function counted(spool: Spool) {
  const seen = { updates: 0, inFlight: 0, most: 0 };
  const wrapper = new Proxy(spool, {
    get(target, key) {
      if (key === 'update')
        return async (entry: SpoolEntry) => {
          seen.updates++;
          seen.most = Math.max(seen.most, ++seen.inFlight);
          try {
            await target.update(entry);
          } finally {
            seen.inFlight--;
          }
        };
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { wrapper, seen };
}

describe('rebind of a deep queue', () => {
  let dir: string;
  const open = () =>
    openSpool({ dataPath: path.join(dir, 'data'), metaPath: path.join(dir, 'meta') });

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sterna-rebind-'));
    const spool = await open();
    await storeWaiting(spool, N);
    await spool.close();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('updates the spool several messages at a time, and every message keeps its place', async () => {
    const spool = await open();
    const { wrapper, seen } = counted(spool);
    const queues = idleEngine(wrapper);
    await restoreSpool(wrapper, queues, silentLogger);
    expect(queues.figures().scheduled).toBe(N);

    const result = await queues.admin.rebind({ reason: 'outage over', data: { pool: 'b' } });
    expect(result).toEqual({ rebound: N });
    expect(seen.updates).toBe(N);
    expect(seen.most).toBe(REBIND_CONCURRENCY);
    // The queue did not change and always_flush was not asked: every message still waits.
    expect(queues.figures().scheduled).toBe(N);
    for (const message of queues.heldMessages()) expect(message.meta).toMatchObject({ pool: 'b' });
    await queues.stop(0);
    await spool.close();

    // What the spool kept: every message with the rebind's data in its meta.
    const again = await open();
    const queuedAgain = idleEngine(again);
    await restoreSpool(again, queuedAgain, silentLogger);
    const metas = [...queuedAgain.heldMessages()].map((m) => m.meta);
    expect(metas).toHaveLength(N);
    for (const meta of metas) expect(meta).toEqual({ queue: 'example.com', pool: 'b' });
    await queuedAgain.stop(0);
    await again.close();
  });

  it('with no data keeps each message’s meta as it was, and writes nothing', async () => {
    const spool = await open();
    const { wrapper, seen } = counted(spool);
    const queues = idleEngine(wrapper);
    await restoreSpool(wrapper, queues, silentLogger);
    const before = new Map([...queues.heldMessages()].map((m) => [m.id, m.meta]));
    expect(await queues.admin.rebind({ reason: 'r', data: {} })).toEqual({ rebound: N });
    // The same objects, not copies; only a due time would change, and that is not written.
    for (const message of queues.heldMessages()) expect(message.meta).toBe(before.get(message.id));
    expect(seen.updates).toBe(0);
    expect(queues.figures().scheduled).toBe(N);
    await queues.stop(0);
    await spool.close();
  });
});
