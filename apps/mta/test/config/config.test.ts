import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isSternaError, silentLogger } from '@sterna/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadDrivers } from '../../src/config/load-drivers.js';
import { DEFAULT_DRIVERS, loadSternaConfig } from '../../src/config/sterna-config.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sterna-config-'));
  await writeFile(join(dir, 'init.lua'), '-- policy');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('loadSternaConfig', () => {
  it('uses the defaults when there is no config', async () => {
    const config = await loadSternaConfig(undefined, join(dir, 'init.lua'));
    expect(config).toMatchObject({
      drivers: [...DEFAULT_DRIVERS],
      lua: { contexts: 2, spare: 'auto', event_deadline: 10 },
      shutdown_grace: 10,
      file: undefined,
    });
  });

  it('finds sterna.config.yaml beside the policy and parses durations', async () => {
    await writeFile(
      join(dir, 'sterna.config.yaml'),
      "drivers: ['@sterna/protocol-smtp']\nlua:\n  contexts: 4\n  spare: true\n  event_deadline: '30s'\nshutdown_grace: '1m'\n",
    );
    const config = await loadSternaConfig(undefined, join(dir, 'init.lua'));
    expect(config).toMatchObject({
      drivers: ['@sterna/protocol-smtp'],
      lua: { contexts: 4, spare: true, event_deadline: 30 },
      shutdown_grace: 60,
    });
    expect(config.file).toBe(join(dir, 'sterna.config.yaml'));
  });

  it('loads JSON named by --config, and TypeScript', async () => {
    await writeFile(join(dir, 'daemon.json'), JSON.stringify({ delivery_watchdog: 5 }));
    expect(
      (await loadSternaConfig(join(dir, 'daemon.json'), join(dir, 'init.lua'))).delivery_watchdog,
    ).toBe(5);
    await writeFile(
      join(dir, 'sterna.config.ts'),
      "const config: { drivers: string[] } = { drivers: ['./x.js'] };\nexport default config;\n",
    );
    expect((await loadSternaConfig(undefined, join(dir, 'init.lua'))).drivers).toEqual(['./x.js']);
  });

  it('names the file and the bad key', async () => {
    await writeFile(
      join(dir, 'sterna.config.json'),
      JSON.stringify({ lua: { contexts: 0 }, colour: 'red' }),
    );
    const error = await loadSternaConfig(undefined, join(dir, 'init.lua')).catch((e: unknown) => e);
    expect(isSternaError(error, 'STERNA_MTA_CONFIG')).toBe(true);
    expect((error as Error).message).toContain('sterna.config.json');
    expect((error as Error).message).toMatch(/colour/);
    expect((error as Error).message).toMatch(/lua\.contexts/);
  });

  it('reports a config file that is not valid YAML', async () => {
    await writeFile(join(dir, 'sterna.config.yaml'), 'drivers: [unclosed\n');
    const error = await loadSternaConfig(undefined, join(dir, 'init.lua')).catch((e: unknown) => e);
    expect(isSternaError(error, 'STERNA_MTA_CONFIG')).toBe(true);
  });
});

describe('loadDrivers', () => {
  const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

  it('loads the first-party drivers by package name', async () => {
    const { registry, problems } = await loadDrivers(
      ['@sterna/protocol-smtp', '@sterna/protocol-maildir', '@sterna/protocol-lua'],
      dir,
      silentLogger,
    );
    expect(registry.keys().sort()).toEqual(['custom_lua', 'maildir_path', 'smtp']);
    expect(problems).toEqual([]);
  });

  it('loads a third-party driver by path, written against @sterna/core alone', async () => {
    const { registry } = await loadDrivers(['./echo-driver.ts'], fixtures, silentLogger);
    expect(registry.keys()).toEqual(['echo']);
  });

  it('reports what is missing or not a driver, and carries on with the rest', async () => {
    const { registry, problems } = await loadDrivers(
      ['sterna-protocol-nonexistent', './not-a-driver.ts', '@sterna/protocol-smtp'],
      fixtures,
      silentLogger,
    );
    expect(registry.keys()).toEqual(['smtp']);
    expect(problems).toEqual([
      {
        name: 'sterna-protocol-nonexistent',
        reason: 'not installed (npm install sterna-protocol-nonexistent)',
      },
      {
        name: './not-a-driver.ts',
        reason: 'exports no protocol driver (build one with defineProtocolDriver)',
      },
    ]);
  });

  it('a queue that needs a driver not loaded is told which package to install', async () => {
    const { registry } = await loadDrivers(['@sterna/protocol-smtp'], dir, silentLogger);
    const error = await registry.resolve({ maildir_path: '/tmp/x' }).catch((e: unknown) => e);
    expect((error as Error).message).toContain('install @sterna/protocol-maildir');
  });
});
