import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { noteConfigEpochBump } from '../src/kumo/index.js';
import { inlinePolicy } from './inline-policy.js';

// kumo.memoize in a real Lua context: each event calls a memoized function and returns what it
// got and how many times the wrapped function really ran.
const POLICY = `
calls = 0
local function compute(...)
  calls = calls + 1
  return { args = { ... }, n = calls }
end

local long = kumo.memoize(compute, { name = 'long', ttl = '1 hour', capacity = 100 })
kumo.on('long', function(...) return { got = long(...), calls = calls } end)

local small = kumo.memoize(compute, { name = 'small', ttl = '1 hour', capacity = 2 })
kumo.on('small', function(k) return small(k).n end)

local short = kumo.memoize(compute, { name = 'short', ttl = '50ms', capacity = 10 })
kumo.on('short', function(k) return short(k).n end)

local epoch = kumo.memoize(compute, { name = 'epoch', ttl = '1 hour', capacity = 10, invalidate_with_epoch = true })
local no_epoch = kumo.memoize(compute, { name = 'no_epoch', ttl = '1 hour', capacity = 10 })
kumo.on('epoch', function(k) return { epoch(k).n, no_epoch(k).n } end)
kumo.on('bump', function() kumo.bump_config_epoch() end)

failing = true
local flaky = kumo.memoize(function(k)
  calls = calls + 1
  if failing then error('backend down for ' .. k) end
  return 'value for ' .. k
end, { name = 'flaky', ttl = '1 hour', capacity = 10 })
kumo.on('flaky', function(k, fail) failing = fail; return flaky(k) end)

kumo.on('fresh_copy', function()
  local first = long('copy')
  first.args[1] = 'mutated'
  first.extra = true
  local again = long('copy')
  return { again.args[1], again.extra == nil, first ~= again }
end)

kumo.on('shared_name', function()
  local a = kumo.memoize(function() return 'first' end, { name = 'shared', ttl = '1h', capacity = 5 })
  local b = kumo.memoize(function() return 'second' end, { name = 'shared', ttl = '1h', capacity = 5 })
  return { a(), b() }
end)

kumo.on('multi', function()
  local m = kumo.memoize(function(x) calls = calls + 1; return x, x * 2, nil, 'last' end,
    { name = 'multi', ttl = '1h', capacity = 5 })
  m(21)
  local before = calls
  local a, b, c, d = m(21)
  return { a, b, c == nil, d, calls - before }
end)

kumo.on('purge', function()
  long('purged')
  local n = kumo.purge_lruttl_cache('long')
  return { n, kumo.purge_lruttl_cache('no such cache') == nil }
end)

kumo.on('bad', function(params, arg)
  local f = kumo.memoize(function() return 1 end, params)
  if arg then return f(arg) end
end)
kumo.on('bad_arg', function(kind)
  local f = kumo.memoize(function() return 1 end, { name = 'args', ttl = 60, capacity = 1 })
  if kind == 'function' then return f(print) end
  local t = {}
  t.self = t
  return f(t)
end)
`;

describe('kumo.memoize', () => {
  let policy: Awaited<ReturnType<typeof inlinePolicy>>;
  beforeAll(async () => {
    policy = await inlinePolicy(POLICY);
  });
  const long = async (...args: unknown[]) =>
    (await policy.call('long', ...args)) as { got: { args: unknown[]; n: number }; calls: number };

  it('runs the function once per argument list and answers later calls from the cache', async () => {
    const first = await long('scott', 'tiger');
    const second = await long('scott', 'tiger');
    expect(second.got).toEqual(first.got);
    expect(second.calls).toBe(first.calls);
    const other = await long('scott', 'lion');
    expect(other.calls).toBe(first.calls + 1);
    expect(other.got.args).toEqual(['scott', 'lion']);
  });

  it('keys table arguments by their content, whatever the order they were built in', async () => {
    const a = await policy.call('long', { files: ['a.toml', 'b.toml'], opt: { x: 1, y: 2 } });
    const b = await policy.call('long', { opt: { y: 2, x: 1 }, files: ['a.toml', 'b.toml'] });
    expect((b as { calls: number }).calls).toBe((a as { calls: number }).calls);
    const c = await policy.call('long', { files: ['b.toml', 'a.toml'], opt: { x: 1, y: 2 } });
    expect((c as { calls: number }).calls).toBe((a as { calls: number }).calls + 1);
    // 1 and 1.5 and '1' are three different arguments
    const n1 = (await long(1)).calls;
    expect((await long(1.5)).calls).toBe(n1 + 1);
    expect((await long('1')).calls).toBe(n1 + 2);
    expect((await long(1)).calls).toBe(n1 + 2);
  });

  it('hands out a fresh copy of a table result on every call', async () => {
    expect(await policy.call('fresh_copy')).toEqual(['copy', true, true]);
  });

  it('keeps every returned value, nil included', async () => {
    expect(await policy.call('multi')).toEqual([21, 42, true, 'last', 0]);
  });

  it('does not cache an error: the next call runs the function again', async () => {
    expect(await policy.fail('flaky', 'k', true)).toContain('backend down for k');
    expect(await policy.fail('flaky', 'k', true)).toContain('backend down for k');
    expect(await policy.call('flaky', 'k', false)).toBe('value for k');
    // now cached: even a failing backend is not asked
    expect(await policy.call('flaky', 'k', true)).toBe('value for k');
  });

  it('evicts the least recently used entry beyond its capacity', async () => {
    const a = (await policy.call('small', 'a')) as number;
    const b = (await policy.call('small', 'b')) as number;
    expect(await policy.call('small', 'a')).toBe(a); // a is now the most recent
    const c = (await policy.call('small', 'c')) as number; // evicts b
    expect(c).toBeGreaterThan(b);
    expect(await policy.call('small', 'a')).toBe(a);
    expect(await policy.call('small', 'c')).toBe(c);
    expect(await policy.call('small', 'b')).toBeGreaterThan(c); // computed again
  });

  it('computes again once the ttl has passed, and not before', async () => {
    const started = performance.now();
    const first = (await policy.call('short', 'k')) as number;
    let value = first;
    for (let i = 0; i < 200 && value === first; i++) {
      await sleep(10);
      value = (await policy.call('short', 'k')) as number;
    }
    expect(value).toBeGreaterThan(first);
    expect(performance.now() - started).toBeGreaterThanOrEqual(50);
  });

  it('invalidate_with_epoch: an epoch bump empties that cache only', async () => {
    const [e1, n1] = (await policy.call('epoch', 'k')) as number[];
    expect(await policy.call('epoch', 'k')).toEqual([e1, n1]);
    await policy.call('bump');
    expect(policy.configured.at(-1)).toEqual(['config_epoch_bump', {}]);
    const [e2, n2] = (await policy.call('epoch', 'k')) as number[];
    expect(e2).toBeGreaterThan(e1!);
    expect(n2).toBe(n1);
    // the daemon's bump, as the worker is told of it
    noteConfigEpochBump();
    const [e3, n3] = (await policy.call('epoch', 'k')) as number[];
    expect(e3).toBeGreaterThan(e2!);
    expect(n3).toBe(n1);
  });

  it('finds caches by name: memoizing again under a name shares its entries', async () => {
    expect(await policy.call('shared_name')).toEqual(['first', 'first']);
  });

  it('kumo.purge_lruttl_cache empties one cache and counts what it removed', async () => {
    const [n, missing] = (await policy.call('purge')) as [number, boolean];
    expect(n).toBeGreaterThan(0);
    expect(missing).toBe(true);
  });

  it('refuses parameters KumoMTA refuses, naming the cache and the key', async () => {
    expect(await policy.fail('bad', { name: 'x', capacity: 10 })).toContain(
      "kumo.memoize x: ttl: missing (a duration such as '5 minutes')",
    );
    expect(await policy.fail('bad', { name: 'x', ttl: '5 parsecs', capacity: 10 })).toContain(
      "kumo.memoize x: ttl: cannot parse '5 parsecs': unknown unit 'parsecs'",
    );
    expect(await policy.fail('bad', { name: 'x', ttl: '5m' })).toContain(
      'kumo.memoize x: capacity: expected a whole number, got nil',
    );
    expect(await policy.fail('bad', { name: 'x', ttl: '5m', capacity: 0 })).toContain(
      'kumo.memoize x: capacity: must be at least 1',
    );
    expect(await policy.fail('bad', { ttl: '5m', capacity: 1 })).toContain(
      'kumo.memoize: name: expected a string, got nil',
    );
    expect(await policy.fail('bad', {})).toContain('kumo.memoize: name');
  });

  it('refuses arguments that cannot be a cache key', async () => {
    expect(await policy.fail('bad_arg', 'function')).toContain(
      'kumo.memoize args: cannot use a function as an argument of a memoized function',
    );
    expect(await policy.fail('bad_arg', 'cycle')).toContain(
      'kumo.memoize args: an argument is a table that contains itself',
    );
  });
});
