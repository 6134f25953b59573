import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSternaError } from '@sterna/core';
import { afterEach, describe, expect, it } from 'vitest';
import { PolicyRuntime } from '../src/index.js';

const runtimes: PolicyRuntime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.close()));
});

/** A policy file in a fresh folder, and a way to rewrite it. */
function policyFile(text: string) {
  const path = join(mkdtempSync(join(tmpdir(), 'sterna-reload-')), 'policy.lua');
  writeFileSync(path, text);
  return { path, write: (next: string) => writeFileSync(path, next) };
}

const answering = (word: string) => `
kumo.on('which', function() return '${word}' end)
kumo.on('slow', function(seconds) kumo.sleep(seconds) return '${word}' end)
`;

async function start(path: string, options: { poolSize?: number; spare?: boolean } = {}) {
  const logged: string[] = [];
  const runtime = await PolicyRuntime.start({
    policy: path,
    poolSize: options.poolSize ?? 1,
    spare: options.spare ?? false,
    host: {
      log: (level, text) => logged.push(`${level}: ${text}`),
      print: (text) => logged.push(`print: ${text}`),
    },
  });
  runtimes.push(runtime);
  return { runtime, logged };
}

/** Polls `check` until it is true (bounded, never a fixed sleep). */
async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('PolicyRuntime.reload', () => {
  it('later calls run the file as it is now; the events follow it', async () => {
    const file = policyFile(answering('old'));
    const { runtime } = await start(file.path, { poolSize: 2, spare: true });
    expect((await runtime.call('which')).value).toBe('old');
    file.write(`${answering('new')}\nkumo.on('added', function() return 1 end)\n`);
    await runtime.reload();
    expect((await runtime.call('which')).value).toBe('new');
    expect(runtime.hasEvent('added')).toBe(true);
    expect(runtime.hasSpare).toBe(true);
  });

  it('a call in flight finishes on the old policy; the next one runs the new', async () => {
    const file = policyFile(answering('old'));
    const { runtime } = await start(file.path);
    const inFlight = runtime.call('slow', [0.3]);
    file.write(answering('new'));
    await runtime.reload();
    expect((await runtime.call('which')).value).toBe('new');
    expect((await inFlight).value).toBe('old');
  });

  it('a policy that no longer loads is refused and the old one keeps answering', async () => {
    const file = policyFile(answering('old'));
    const { runtime } = await start(file.path);
    file.write('kumo.on("which", function() return "broken" end\n');
    const error = await runtime.reload().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isSternaError(error) && error.code).toBe('STERNA_LUA_LOAD');
    expect(String((error as Error).message)).toContain('policy.lua');
    expect((await runtime.call('which')).value).toBe('old');
  });

  it('an object made before the reload keeps its context until it is released', async () => {
    const file = policyFile(`
kumo.on('make.thing', function()
  return { send = function(self) return 'old thing' end }
end)
${answering('old')}`);
    const { runtime } = await start(file.path);
    const thing = await runtime.construct('make.thing', []);
    file.write(answering('new'));
    await runtime.reload();
    expect(await thing.call('send', [])).toBe('old thing');
    await thing.release();
    expect((await runtime.call('which')).value).toBe('new');
  });
});

describe('kumo.spawn_task', () => {
  it('runs the event in the background with its args, in a context of its own', async () => {
    const file = policyFile(`
kumo.on('init', function()
  kumo.spawn_task { event_name = 'my.task', args = { 'hello', 'there' } }
end)
kumo.on('my.task', function(args)
  print('I am the task.', kumo.json_encode(args))
end)
`);
    const { runtime, logged } = await start(file.path);
    await runtime.call('init');
    await until(() => logged.some((l) => l.startsWith('print: I am the task.')), 'the task');
    expect(logged).toContain('print: I am the task.\t["hello","there"]');
  });

  it('a task that raises is logged and stops; a missing handler is logged', async () => {
    const file = policyFile(`
kumo.on('init', function()
  kumo.spawn_task { event_name = 'bad.task' }
  kumo.spawn_task { event_name = 'no.such.task' }
end)
kumo.on('bad.task', function() error('task went wrong') end)
`);
    const { runtime, logged } = await start(file.path);
    await runtime.call('init');
    await until(() => logged.filter((l) => l.includes('failed')).length === 2, 'two failures');
    expect(logged.find((l) => l.includes('bad.task'))).toMatch(
      /^error: task bad\.task failed: .*policy\.lua:6: task went wrong/,
    );
    expect(logged.find((l) => l.includes('no.such.task'))).toContain(
      'the policy has no handler for the event no.such.task',
    );
  });

  it('refuses a table without event_name', async () => {
    const file = policyFile(`kumo.on('init', function() kumo.spawn_task { name = 'x' } end)`);
    const { runtime } = await start(file.path);
    await expect(runtime.call('init')).rejects.toThrow(/kumo\.spawn_task: unknown field 'name'/);
  });
});
