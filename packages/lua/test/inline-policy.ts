import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LuaContext } from '../src/context/lua-context.js';
import { inMs, recordingHost } from './helpers.js';

/**
 * A policy written in the test, with any data files beside it, loaded into an in-process
 * context (the real Lua VM, no worker). `call` returns an event's first value and throws on a
 * Lua error; `fail` returns the Lua error's message and throws when the call succeeded.
 */
export async function inlinePolicy(source: string, files: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sterna-lua-inline-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const path = join(dir, 'policy.lua');
  writeFileSync(path, source);
  const recording = recordingHost();
  const context = await LuaContext.create(recording.host, {
    policyDir: dir,
    memoryMax: 64 * 1024 * 1024,
  });
  const loaded = await context.load(path, inMs(5000));
  if (loaded.status !== 'ok') throw new Error(`policy failed to load: ${JSON.stringify(loaded)}`);
  const call = async (event: string, ...args: unknown[]): Promise<unknown> => {
    const outcome = await context.call(event, args, inMs(5000));
    if (outcome.status !== 'ok') throw new Error(`${event}: ${JSON.stringify(outcome)}`);
    return outcome.values[0];
  };
  const fail = async (event: string, ...args: unknown[]): Promise<string> => {
    const outcome = await context.call(event, args, inMs(5000));
    if (outcome.status !== 'error')
      throw new Error(`${event} did not fail: ${JSON.stringify(outcome)}`);
    return outcome.message;
  };
  return { context, dir, call, fail, ...recording };
}
