import { Resolver } from 'node:dns/promises';
import { isSternaError } from '@sterna/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyRuntime } from '../src/index.js';
import { startDnsServer } from './dns-server.js';
import { fixture } from './helpers.js';

describe('kumo.dns through the host resolver', () => {
  let dns: Awaited<ReturnType<typeof startDnsServer>>;
  let runtime: PolicyRuntime;
  beforeAll(async () => {
    dns = await startDnsServer({
      'mail.example': {
        MX: [
          { exchange: 'mx2.mail.example', priority: 20 },
          { exchange: 'mx1.mail.example', priority: 10 },
          { exchange: 'mx1b.mail.example', priority: 10 },
        ],
      },
      'nomx.example': { A: ['192.0.2.7'], TXT: [['v=spf1 ', '-all'], ['hello']] },
      '7.2.0.192.in-addr.arpa': { PTR: ['host.nomx.example'] },
    });
    const resolver = new Resolver({ timeout: 500, tries: 1 });
    resolver.setServers([dns.server]);
    runtime = await PolicyRuntime.start({
      policy: fixture('events.lua'),
      poolSize: 1,
      spare: false,
      host: { resolver, log: () => {}, print: () => {} },
    });
  });
  afterAll(async () => {
    await runtime.close();
    await dns.close();
  });

  it('lookup_mx orders hosts by preference', async () => {
    const { value } = await runtime.call('mx', ['mail.example']);
    expect(value).toMatchObject({
      domain_name: 'mail.example.',
      hosts: ['mx1.mail.example', 'mx1b.mail.example', 'mx2.mail.example'],
      by_pref: { '10': ['mx1.mail.example', 'mx1b.mail.example'], '20': ['mx2.mail.example'] },
      is_mx: true,
    });
  });

  it('lookup_txt joins each record; lookup_ptr and lookup_addr', async () => {
    expect((await runtime.call('dns_misc', ['nomx.example', '192.0.2.7'])).values).toEqual([
      ['v=spf1 -all', 'hello'],
      ['host.nomx.example'],
      ['192.0.2.7'],
    ]);
  });

  it('a domain without MX falls back to itself; NXDOMAIN raises', async () => {
    const { value } = await runtime.call('mx', ['nomx.example']);
    expect(value).toMatchObject({ hosts: ['nomx.example'], is_mx: false });
    let error: unknown;
    try {
      await runtime.call('mx', ['missing.example']);
    } catch (caught) {
      error = caught;
    }
    expect(isSternaError(error, 'STERNA_LUA_ERROR')).toBe(true);
    expect((error as Error).message).toMatch(/lookup_mx missing.example: .*ENOTFOUND/);
  });
});
