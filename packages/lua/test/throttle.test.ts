import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalThrottles, type ThrottleSpec } from '@sterna/core/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LuaContext } from '../src/context/lua-context.js';
import { PolicyRuntime } from '../src/index.js';
import type { MessageSnapshot } from '../src/message/message-snapshot.js';
import { inProcessHost } from '../src/pool/daemon-handlers.js';
import { inMs } from './helpers.js';

// kumo.make_throttle from real Lua: the spec checked on the worker, the check answered by the
// runtime's store (the daemon's, when it gives one), shared by every context.

const POLICY = `
kumo.on('check', function(name, spec, times)
  local t = kumo.make_throttle(name, spec)
  local results = {}
  for i = 1, times or 1 do results[i] = t:throttle() end
  return results
end)
kumo.on('sleep', function(name, spec)
  return kumo.make_throttle(name, spec):sleep_if_throttled()
end)
kumo.on('delay', function(msg, name, spec)
  return kumo.make_throttle(name, spec):delay_message_if_throttled(msg)
end)
kumo.on('make', function(name, spec) return tostring(kumo.make_throttle(name, spec)) end)
kumo.on('delay_not_a_message', function()
  return kumo.make_throttle('x', '1/s'):delay_message_if_throttled('msg')
end)
`;

function policyFile(source = POLICY): string {
  const dir = mkdtempSync(join(tmpdir(), 'sterna-throttle-'));
  const path = join(dir, 'policy.lua');
  writeFileSync(path, source);
  return path;
}

/** An in-process context whose host answers throttle checks from `throttles`. */
async function context(throttles?: LocalThrottles) {
  const path = policyFile();
  const ctx = await LuaContext.create(inProcessHost(throttles ? { throttles } : {}), {
    policyDir: join(path, '..'),
    memoryMax: 64 * 1024 * 1024,
  });
  const loaded = await ctx.load(path, inMs(10_000));
  if (loaded.status !== 'ok') throw new Error(`policy failed to load: ${JSON.stringify(loaded)}`);
  const run = async (event: string, ...args: unknown[]) => {
    const outcome = await ctx.call(event, args, inMs(10_000));
    if (outcome.status !== 'ok') throw new Error(`${event}: ${JSON.stringify(outcome)}`);
    return outcome;
  };
  const fail = async (event: string, ...args: unknown[]) => {
    const outcome = await ctx.call(event, args, inMs(10_000));
    if (outcome.status !== 'error') throw new Error(`${event} did not fail`);
    return outcome.message;
  };
  return { run, fail };
}

function message(): MessageSnapshot {
  return {
    id: '0'.repeat(32),
    sender: 'sender@example.com',
    recipients: ['rcpt@example.net'],
    meta: {},
    data: new TextEncoder().encode('Subject: x\r\n\r\nbody\r\n'),
  };
}

describe('kumo.make_throttle', () => {
  it("'2/s,max_burst=1': the first may go, the second waits half a second (an exact clock)", async () => {
    let now = 1_000_000;
    const { run } = await context(new LocalThrottles(() => now));
    const [first, second] = (await run('check', 'exact', '2/s,max_burst=1', 2)).values[0] as Record<
      string,
      unknown
    >[];
    expect(first).toEqual({ throttled: false, limit: 2, remaining: 0, reset_after: 0.5 });
    expect(second).toEqual({
      throttled: true,
      limit: 2,
      remaining: 0,
      reset_after: 0.5,
      retry_after: 0.5,
    });
    // Once the half second has passed, it may go again.
    now += 500;
    const [third] = (await run('check', 'exact', '2/s,max_burst=1')).values[0] as Record<
      string,
      unknown
    >[];
    expect(third).toMatchObject({ throttled: false });
    expect(third!.retry_after).toBeUndefined();
  });

  it('checks with the real clock when the runtime makes its own store', async () => {
    const { run } = await context();
    const [first, second] = (await run('check', 'real', '2/s,max_burst=1', 2)).values[0] as {
      throttled: boolean;
      retry_after?: number;
    }[];
    expect(first!.throttled).toBe(false);
    expect(second!.throttled).toBe(true);
    // Both checks ran in one handler, back to back: at most half a second to wait.
    expect(second!.retry_after).toBeGreaterThan(0.25);
    expect(second!.retry_after).toBeLessThanOrEqual(0.5);
  });

  it('names are separate throttles; the same name is one throttle, whatever object checks it', async () => {
    const { run } = await context(new LocalThrottles(() => 0));
    await run('check', 'a', '1/h');
    const [other] = (await run('check', 'b', '1/h')).values[0] as { throttled: boolean }[];
    expect(other!.throttled).toBe(false);
    const [again] = (await run('check', 'a', '1/h')).values[0] as { throttled: boolean }[];
    expect(again!.throttled).toBe(true);
  });

  it('keeps its state in the store the daemon gives, under KumoMTA-style keys', async () => {
    const throttles = new LocalThrottles();
    const seen: string[] = [];
    const store = {
      check: (key: string, spec: ThrottleSpec) => {
        seen.push(key);
        return throttles.check(key, spec);
      },
    };
    const path = policyFile();
    const ctx = await LuaContext.create(inProcessHost({ throttles: store as never }), {
      policyDir: join(path, '..'),
      memoryMax: 64 * 1024 * 1024,
    });
    await ctx.load(path, inMs(10_000));
    await ctx.call('check', ['reception-rate', '100/minute'], inMs(10_000));
    expect(seen).toEqual(['lua-user-throttle-reception-rate']);
  });

  it('sleep_if_throttled: false when it could go, true after waiting until it could', async () => {
    const { run } = await context();
    expect((await run('sleep', 's', '2/s,max_burst=1')).values[0]).toBe(false);
    const started = Date.now();
    expect((await run('sleep', 's', '2/s,max_burst=1')).values[0]).toBe(true);
    // GCRA lets the second through no sooner than 500 ms after the first; a little slack for
    // the clock's rounding.
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  });

  it('delay_message_if_throttled: when throttled the message is due after retry_after', async () => {
    const { run } = await context(new LocalThrottles(() => 0));
    const first = await run('delay', message(), 'd', '2/s,max_burst=1');
    expect(first.values[0]).toBe(false);
    expect(first.messages[0]).toBeUndefined();
    const before = Date.now();
    const second = await run('delay', message(), 'd', '2/s,max_burst=1');
    expect(second.values[0]).toBe(true);
    const due = second.messages[0]?.due;
    expect(typeof due).toBe('number');
    // Due half a second after the call (the store's clock is fixed; the message's is real).
    expect(due!).toBeGreaterThanOrEqual(before + 500);
    expect(due!).toBeLessThanOrEqual(Date.now() + 500);
  });

  it('raises naming the function and the bad spec, before any check', async () => {
    const { fail, run } = await context();
    expect(await fail('make', 'x', '10/fortnight')).toContain(
      "kumo.make_throttle: invalid throttle '10/fortnight': expected [local:]quantity/period",
    );
    expect(await fail('make', 'x', '0/s')).toContain("kumo.make_throttle: invalid throttle '0/s'");
    expect(await fail('make', 'x', undefined)).toContain(
      "kumo.make_throttle: the spec must be a string such as '10/s', got nil",
    );
    expect(await fail('make', undefined, '1/s')).toContain(
      'kumo.make_throttle: the name must be a string, got nil',
    );
    expect(await fail('delay_not_a_message')).toContain(
      "throttle 'x': delay_message_if_throttled expects a message, got string",
    );
    // KumoMTA's forms: local:, digit separators, period multiples, max_burst.
    for (const spec of ['local:10/s', '1,000/hr', '1_000/h', '20/30min', '60/minute,max_burst=1']) {
      expect((await run('make', 'ok', spec)).values[0]).toBe(`Throttle(ok, ${spec})`);
    }
  });
});

describe('kumo.make_throttle through the worker pool', () => {
  let runtime: PolicyRuntime;
  beforeAll(async () => {
    const path = policyFile(`
      local ID = kumo.uuid.new_v4().simple
      kumo.on('check', function(name, spec)
        local r = kumo.make_throttle(name, spec):throttle()
        return { context = ID, throttled = r.throttled }
      end)
    `);
    runtime = await PolicyRuntime.start({ policy: path, poolSize: 2, spare: false });
  });
  afterAll(async () => {
    await runtime.close();
  });

  it('two contexts (two worker threads) checking one name share its state', async () => {
    // Called together, the two calls go to the two contexts (each takes the least busy).
    const [a, b] = await Promise.all([
      runtime.call('check', ['shared', '1/h']),
      runtime.call('check', ['shared', '1/h']),
    ]);
    const one = a.value as { context: string; throttled: boolean };
    const two = b.value as { context: string; throttled: boolean };
    expect(one.context).not.toBe(two.context);
    // One of them took the only slot of the hour; the other was throttled.
    expect([one.throttled, two.throttled].sort()).toEqual([false, true]);
  });
});
