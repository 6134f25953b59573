// Arguments that cannot be copied into a Lua context's thread fail their own call with
// STERNA_LUA_ARGS; the runtime, and calls batched with the bad one, carry on.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSternaError } from '@sterna/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyRuntime } from '../src/index.js';

let runtime: PolicyRuntime;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sterna-lua-args-'));
  const policy = join(dir, 'init.lua');
  writeFileSync(
    policy,
    `kumo.on('echo', function(v) return type(v) end)
kumo.on('keys', function(t) local n = {} for k in pairs(t) do n[#n + 1] = k end table.sort(n) return n end)
kumo.on('proto', function() return { __proto__ = { polluted = true }, plain = 1 } end)`,
  );
  runtime = await PolicyRuntime.start({ policy, poolSize: 1, spare: false });
}, 60_000);
afterAll(() => runtime?.close());

/** An object nested `depth` levels deep. */
function deep(depth: number): unknown {
  let value: unknown = {};
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

describe('hostile arguments', () => {
  it('fails only the call whose argument is nested too deeply', async () => {
    const bad = runtime.call('echo', [deep(100_000)]);
    const good = runtime.call('echo', ['fine']);
    const error = await bad.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isSternaError(error, 'STERNA_LUA_ARGS')).toBe(true);
    expect(String((error as Error).message)).toMatch(
      /^echo: its arguments cannot be passed to Lua/,
    );
    expect((await good).value).toBe('string');
    expect((await runtime.call('echo', [1])).value).toBe('number');
  });

  it('refuses a function argument the same way', async () => {
    const error = await runtime.call('echo', [() => 1]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isSternaError(error, 'STERNA_LUA_ARGS')).toBe(true);
  });

  it('passes __proto__ and constructor keys as data both ways', async () => {
    const arg = JSON.parse('{"__proto__": {"x": 1}, "constructor": 2}');
    expect((await runtime.call('keys', [arg])).value).toEqual(['__proto__', 'constructor']);
    const back = (await runtime.call('proto', [])).value as Record<string, unknown>;
    expect(Object.keys(back).sort()).toEqual(['__proto__', 'plain']);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect((back as { polluted?: unknown }).polluted).toBeUndefined();
  });
});
