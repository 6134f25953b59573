import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DnsServer, startDnsServer } from '../src/index.js';

let dns: DnsServer;

beforeAll(async () => {
  dns = await startDnsServer({
    records: {
      'example.com': {
        MX: [
          { exchange: 'mx1.example.com', priority: 10 },
          { exchange: 'mx2.example.com', priority: 20 },
        ],
        A: ['127.0.0.5'],
      },
      'mx1.example.com': { A: ['127.0.0.2'], AAAA: ['::1'] },
      'null.example': { MX: [{ exchange: '', priority: 0 }] },
      'nomx.example': { A: ['127.0.0.3'] },
      'slow.example': { stall: true },
    },
  });
});
afterAll(() => dns.close());

describe('startDnsServer', () => {
  it('listens on loopback and answers MX, A and AAAA', async () => {
    expect(dns.servers).toEqual([`127.0.0.1:${dns.port}`]);
    const resolver = dns.resolver();
    expect(
      (await resolver.resolveMx('example.com')).sort((a, b) => a.priority - b.priority),
    ).toEqual([
      { exchange: 'mx1.example.com', priority: 10 },
      { exchange: 'mx2.example.com', priority: 20 },
    ]);
    expect(await resolver.resolve4('MX1.example.com')).toEqual(['127.0.0.2']);
    expect(await resolver.resolve6('mx1.example.com')).toEqual(['::1']);
  });

  it('answers NXDOMAIN for unknown names and NODATA for missing types', async () => {
    const resolver = dns.resolver();
    await expect(resolver.resolveMx('nowhere.example')).rejects.toMatchObject({
      code: 'ENOTFOUND',
    });
    await expect(resolver.resolveMx('nomx.example')).rejects.toMatchObject({ code: 'ENODATA' });
  });

  it('serves the null MX', async () => {
    expect(await dns.resolver().resolveMx('null.example')).toEqual([{ exchange: '', priority: 0 }]);
  });

  it('can stall a name, so resolvers time out', async () => {
    await expect(dns.resolver().resolve4('slow.example')).rejects.toMatchObject({
      code: 'ETIMEOUT',
    });
  });

  it('changes records at run time and records queries', async () => {
    dns.set('late.example', { A: ['127.0.0.9'] });
    expect(await dns.resolver().resolve4('late.example')).toEqual(['127.0.0.9']);
    dns.remove('late.example');
    await expect(dns.resolver().resolve4('late.example')).rejects.toMatchObject({
      code: 'ENOTFOUND',
    });
    expect(dns.queries).toContainEqual({ name: 'late.example', type: 'A' });
  });
});
