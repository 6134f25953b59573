import { createMessage, isSternaError } from '@sterna/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyRuntime } from '../src/index.js';
import { fixture } from './helpers.js';

const DEADLINE = 300;
// Timer and scheduling slack on a loaded 2-core machine; the point is "about the deadline",
// not "after some long default".
const SLACK = 350;
// How long a context has, past the deadline, to report a call its hook stopped before it is
// terminated. The default (100 ms) is shorter than a starved worker thread can wait for the CPU
// on a busy machine: code the hook does stop was then terminated, unlocated, and the calls after
// it waited for a replacement context to load. Only code beyond the hook waits this long.
const GRACE = 1000;

describe('runaway policies are stopped within their deadline', () => {
  let runtime: PolicyRuntime;
  beforeAll(async () => {
    runtime = await PolicyRuntime.start({
      policy: fixture('runaway.lua'),
      poolSize: 1,
      deadlineMs: DEADLINE,
      terminateGraceMs: GRACE,
      memoryMaxBytes: 32 * 1024 * 1024,
      host: { log: () => {} },
    });
  });
  afterAll(() => runtime.close());

  for (const event of [
    'spin',
    'spin_in_pcall',
    'spin_in_handler',
    'spin_in_coroutine',
    'pathological_pattern',
  ]) {
    it(`${event}: STERNA_LUA_TIMEOUT, then the next call succeeds`, async () => {
      const started = Date.now();
      let error: unknown;
      try {
        await runtime.call(event);
      } catch (caught) {
        error = caught;
      }
      const took = Date.now() - started;
      expect(isSternaError(error, 'STERNA_LUA_TIMEOUT')).toBe(true);
      expect((error as Error).message).toContain(
        `${event} did not finish within its deadline of ${DEADLINE} ms`,
      );
      expect(took).toBeGreaterThanOrEqual(DEADLINE - 5);
      // Code the hook stops is answered at the deadline; the rest (an endless error handler or
      // coroutine, a pattern in C) is terminated once the grace has passed.
      const hookStops = event === 'spin' || event === 'spin_in_pcall';
      expect(took).toBeLessThan(DEADLINE + (hookStops ? 0 : GRACE) + SLACK);
      // Code the hook can stop is reported with the policy file and line where it stopped.
      if (hookStops) {
        expect((error as Error).message).toMatch(/and was stopped at \S*runaway\.lua:\d+$/);
      }
      expect((await runtime.call('ok')).value).toBe('still alive');
    });
  }

  it('calls queued behind a stuck call run on the replacement context', async () => {
    const stuck = runtime.call('pathological_pattern');
    const queued = Array.from({ length: 10 }, () => runtime.call('ok', [], { deadlineMs: 5000 }));
    const results = await Promise.allSettled([stuck, ...queued]);
    expect(results[0]!.status).toBe('rejected');
    expect(
      results.slice(1).map((r) => (r.status === 'fulfilled' ? r.value.value : r.reason.message)),
    ).toEqual(Array(10).fill('still alive'));
  });

  it('a huge allocation is a Lua "not enough memory" error; the context survives', async () => {
    const before = (await runtime.call('count')).value as number;
    let error: unknown;
    try {
      await runtime.call('huge_string');
    } catch (caught) {
      error = caught;
    }
    expect(isSternaError(error, 'STERNA_LUA_ERROR')).toBe(true);
    expect((error as Error).message).toMatch(/not enough memory/);
    // Same context (its global counter went on), so it was not replaced.
    expect((await runtime.call('count')).value).toBe(before + 1);
  });

  it('an object whose context was terminated fails clearly', async () => {
    const connection = await runtime.construct('make.conn', []);
    const message = createMessage({ sender: 'a@b', recipients: ['c@d'], data: 'x\r\n' });
    expect(await connection.call('send', [message])).toBe(`sent ${message.id}`);
    await runtime.call('pathological_pattern').catch(() => {});
    // Wait for the grace period to end in termination.
    await new Promise((resolve) => setTimeout(resolve, 300));
    let error: unknown;
    try {
      await connection.call('send', [message]);
    } catch (caught) {
      error = caught;
    }
    expect(isSternaError(error, 'STERNA_LUA_CONTEXT_LOST')).toBe(true);
    expect((error as Error).message).toMatch(/pathological_pattern overran its deadline/);
    await connection.release();
  });
});

describe("spare: 'after-loss'", () => {
  it('loads no spare until a context has to be terminated, then keeps one', async () => {
    const runtime = await PolicyRuntime.start({
      policy: fixture('runaway.lua'),
      poolSize: 1,
      deadlineMs: DEADLINE,
      spare: 'after-loss',
      host: { log: () => {} },
    });
    try {
      expect(runtime.hasSpare).toBe(false);
      expect((await runtime.call('ok')).value).toBe('still alive');
      expect(runtime.hasSpare).toBe(false);
      // Only termination stops a pattern running in C: the context is lost and replaced.
      await expect(runtime.call('pathological_pattern')).rejects.toThrow(/deadline/);
      expect((await runtime.call('ok', [], { deadlineMs: 30_000 })).value).toBe('still alive');
      expect(runtime.hasSpare).toBe(true);
    } finally {
      await runtime.close();
    }
  }, 60_000);
});
