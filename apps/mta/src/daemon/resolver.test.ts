import { startDnsServer } from '@sterna/protocol-testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { SwitchableResolver } from './resolver.js';

const dns = await startDnsServer({
  records: {
    'example.com': { MX: [{ exchange: 'mx.example.com', priority: 10 }], A: ['127.0.0.2'] },
    'null.example': { MX: [{ exchange: '', priority: 0 }] },
  },
});
afterAll(() => dns.close());

describe('SwitchableResolver', () => {
  it('answers from the servers configure_resolver named, MX records the same on every Node', async () => {
    const resolver = new SwitchableResolver();
    resolver.configure({
      name_servers: [{ socket_addr: dns.servers[0]! }],
      search: [],
      options: {},
    });
    // Exactly these keys: Node 24's resolver adds `type: 'MX'`, drivers never see it.
    expect(await resolver.resolveMx('example.com')).toEqual([
      { exchange: 'mx.example.com', priority: 10 },
    ]);
    expect(await resolver.resolveMx('null.example')).toEqual([{ exchange: '', priority: 0 }]);
    expect(await resolver.resolve4('example.com')).toEqual(['127.0.0.2']);
    await expect(resolver.resolveMx('nowhere.example')).rejects.toMatchObject({
      code: 'ENOTFOUND',
    });
  });
});
