import { isSternaError } from '@sterna/core';
import { DriverRegistry } from '@sterna/core/engine';
import { describe, expect, it } from 'vitest';
import { maildirDriver } from './driver.js';

const registry = new DriverRegistry([maildirDriver]);

async function refusal(table: unknown): Promise<string> {
  try {
    await registry.resolve(table);
  } catch (error) {
    expect(isSternaError(error, 'STERNA_OPTIONS_INVALID')).toBe(true);
    return (error as Error).message;
  }
  throw new Error(`${JSON.stringify(table)} was accepted`);
}

describe('maildir options', () => {
  it('accepts the seed example and octal modes written as numbers', async () => {
    const table = { maildir_path: '/var/tmp/kumo-maildir', dir_mode: 0o775, file_mode: 0o640 };
    const { driver, options } = await registry.resolve(table);
    expect(driver).toBe(maildirDriver);
    expect(options).toEqual(table);
    expect((await registry.resolve({ maildir_path: '/m/{{ local_part }}' })).options).toEqual({
      maildir_path: '/m/{{ local_part }}',
    });
  });

  it('refuses unknown keys, naming them', async () => {
    const message = await refusal({ maildir_path: '/m', dir_mod: 0o755 });
    expect(message).toContain("'dir_mod'");
    expect(message).toContain('maildir accepts maildir_path, dir_mode, file_mode');
  });

  it.each([
    [{ maildir_path: '/m', dir_mode: -1 }, 'protocol.dir_mode'],
    [{ maildir_path: '/m', dir_mode: 0o10000 }, 'protocol.dir_mode'],
    [{ maildir_path: '/m', file_mode: 1.5 }, 'protocol.file_mode'],
    [{ maildir_path: '/m', file_mode: '0640' }, 'protocol.file_mode'],
    [{ maildir_path: '' }, 'protocol.maildir_path'],
    [{ maildir_path: 42 }, 'protocol.maildir_path'],
    [{ maildir_path: '/m\0x' }, 'protocol.maildir_path'],
    [{ maildir_path: '/m/{{ user }}' }, 'protocol.maildir_path'],
    [{ maildir_path: '/m/{{ local_part' }, 'protocol.maildir_path'],
  ])('refuses %j at %s', async (table, path) => {
    expect(await refusal(table)).toContain(`${path}: `);
  });

  it('names the template problem in the option error', async () => {
    expect(await refusal({ maildir_path: '/m/{{ user }}' })).toContain("unknown variable 'user'");
  });
});
