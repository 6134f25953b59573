import { isSternaError } from '@sterna/core';
import { DriverRegistry } from '@sterna/core/engine';
import { describe, expect, it } from 'vitest';
import { smtpDriver } from './driver.js';

const registry = new DriverRegistry([smtpDriver]);

async function refusal(table: unknown): Promise<string> {
  try {
    await registry.resolve(table);
  } catch (error) {
    if (isSternaError(error, 'STERNA_OPTIONS_INVALID')) return error.message;
    throw error;
  }
  throw new Error('accepted');
}

describe('smtp options', () => {
  it('accepts the default and the seed example', async () => {
    expect((await registry.resolve({ smtp: {} })).options).toEqual({ smtp: {} });
    const seed = {
      smtp: { mx_list: ['smart.host.local', { name: 'mx.example.com', addr: '10.0.0.1' }] },
    };
    expect((await registry.resolve(seed)).options).toEqual(seed);
  });

  it('accepts every entry form', async () => {
    const table = {
      smtp: {
        mx_list: [
          '[10.0.0.1]',
          '[IPv6:::1]',
          '10.0.0.2',
          'mx.test:2025',
          '[10.0.0.3]:26',
          { name: 'n', addr: '[::1]:27' },
        ],
        treat_mx_list_as_secure: true,
      },
    };
    expect((await registry.resolve(table)).options).toEqual(table);
  });

  it('names the path of each bad entry', async () => {
    const message = await refusal({
      smtp: { mx_list: ['ok.test', { name: 'mx', addr: 'mx.example.com' }, 7, { name: 'x' }] },
    });
    expect(message).toContain('protocol.smtp.mx_list[2].addr: expected an IP address');
    expect(message).toContain(
      'protocol.smtp.mx_list[3]: expected a host string or a { name = …, addr = … } table',
    );
    expect(message).toContain('protocol.smtp.mx_list[4]');
  });

  it('refuses unknown keys at both levels', async () => {
    expect(await refusal({ smtp: { mx_lists: [] } })).toContain('protocol.smtp');
    expect(
      await refusal({ smtp: { mx_list: [{ name: 'a', addr: '10.0.0.1', port: 25 }] } }),
    ).toContain('protocol.smtp.mx_list[1]');
  });
});
