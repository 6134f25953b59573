import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigMonitor, defaultMonitorGlobs } from './config-monitor.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} } as never;
let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('the config monitor default globs', () => {
  it('watch the policy folder: Lua and data files for a Lua policy, modules for a TypeScript one', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sterna-monitor-'));
    await mkdir(join(dir, 'lib'));
    await mkdir(join(dir, 'node_modules', 'dep'), { recursive: true });
    for (const file of [
      'init.lua',
      'helper.lua',
      'policy.ts',
      'lib/routes.ts',
      'lib/util.mjs',
      'queues.toml',
      'notes.txt',
      'node_modules/dep/index.js',
    ]) {
      await writeFile(join(dir, file), file);
    }
    const files = async (policy: string) => {
      const monitor = await ConfigMonitor.start({
        policy: join(dir!, policy),
        globs: () => defaultMonitorGlobs(join(dir!, policy)),
        intervalMs: 3_600_000,
        onChange() {},
        log: silent,
      });
      monitor.stop();
      return (await monitor.files()).map((f) => f.slice(dir!.length + 1));
    };
    expect(await files('init.lua')).toEqual(['helper.lua', 'init.lua', 'queues.toml']);
    expect(await files('policy.ts')).toEqual([
      'lib/routes.ts',
      'lib/util.mjs',
      'policy.ts',
      'queues.toml',
    ]);
  });
});
