import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from '@sterna/core';
import { silentLogger } from '@sterna/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { restoreSpool } from '../../src/daemon/boot/start-queues.js';
import { openSpool } from '../../src/spool/index.js';
import { idleEngine, storeWaiting as store } from '../support/idle-engine.js';

// A start queues a large spool partly before it goes on and the rest while it runs: on a real
// spool, with a real queue engine whose messages are all due in 20 minutes (nothing delivers).

const N = 2500; // three of the spool's batches (1,024 each)

function logger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (message: string) => lines.push(message);
  return { lines, debug: at, info: at, warn: at, error: at };
}

describe('queuing the spool again at start', () => {
  let dir: string;
  let ids: string[];
  const open = () =>
    openSpool({ dataPath: path.join(dir, 'data'), metaPath: path.join(dir, 'meta') });
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sterna-restore-'));
    const spool = await open();
    ids = await store(spool, N);
    await spool.close();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await rm(dir, { recursive: true, force: true });
  });
  const started = async () => {
    const spool = await open();
    const queues = idleEngine(spool);
    cleanups.push(
      () => spool.close(),
      () => queues.stop(0),
    );
    return { spool, queues };
  };

  it('queues everything before it resolves when no time budget is given', async () => {
    const { spool, queues } = await started();
    const log = logger();
    await restoreSpool(spool, queues, log);
    expect(queues.figures().scheduled).toBe(N);
    expect(log.lines).toEqual([
      expect.stringMatching(new RegExp(`^re-queued ${N} spooled messages in `)),
    ]);
  });

  it('goes on after its budget and queues the rest while the daemon runs, each message once', async () => {
    const { spool, queues } = await started();
    const log = logger();
    const { rest } = await restoreSpool(spool, queues, log, { foregroundMs: 0 });
    expect(queues.figures().scheduled).toBe(0); // nothing yet: the rest runs on later turns
    expect(log.lines).toEqual([
      're-queued 0 spooled messages so far; queuing the rest while the daemon runs',
    ]);
    // Meanwhile one of the waiting messages is removed (skipped: the rest has not reached it)
    // and a new message arrives (not in the list the spool took when the restore began: its
    // receiver queues it, once).
    const gone = ids[N - 1]!;
    await spool.remove(gone);
    const [arrived] = await store(spool, 1);
    await rest;
    expect(queues.figures().scheduled).toBe(N - 1);
    expect(queues.locate(gone)).toBeUndefined();
    expect(queues.locate(arrived!)).toBeUndefined(); // its receiver queues it, not the restore
    expect(queues.locate(ids[0]!)).toMatchObject({ queue: 'example.com' });
    expect(log.lines[1]).toMatch(new RegExp(`^re-queued ${N - 1} spooled messages in `));
  });

  it('stops at shutdown between two batches, and what it did not reach stays spooled', async () => {
    const { spool, queues } = await started();
    const log = logger();
    const shutdown = new AbortController();
    const { rest } = await restoreSpool(spool, queues, log, {
      foregroundMs: 0,
      signal: shutdown.signal,
    });
    shutdown.abort();
    await rest;
    expect(queues.figures().scheduled).toBe(0);
    expect(log.lines[1]).toBe('stopped re-queuing at 0 spooled messages: the rest stay spooled');
    await queues.stop(0);
    await spool.close();
    // The next start finds every message.
    const again = await started();
    await restoreSpool(again.spool, again.queues, silentLogger);
    expect(again.queues.figures().scheduled).toBe(N);
  });
});
