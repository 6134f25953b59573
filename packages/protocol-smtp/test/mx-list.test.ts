import { isDeliveryFailure } from '@sterna/core';
import { startDnsServer, testContext } from '@sterna/protocol-testkit';
import { describe, expect, it } from 'vitest';
import {
  closedPort,
  connect,
  later,
  loopbackPath,
  message,
  mustConnect,
  signal,
  sink,
  siteFor,
} from './helpers.js';

describe('mx_list', () => {
  it("skips the seed's dead first entry and delivers to the next, logging its name", async () => {
    const s = await sink({ host: '127.0.0.2' });
    const dead = await closedPort('127.0.0.9');
    const dns = await startDnsServer({ records: { 'smart.host.local': { A: ['127.0.0.2'] } } });
    later(() => dns.close());
    const ctx = testContext({ resolver: dns.resolver() });
    const table = {
      smtp: {
        mx_list: [
          { name: 'mx.example.com', addr: `127.0.0.9:${dead}` },
          `smart.host.local:${s.port}`,
        ],
      },
    };
    const site = await siteFor(table, {}, ctx);
    expect(site).toMatchObject({
      name: `mx_list:127.0.0.9:${dead},smart.host.local:${s.port}`,
      service: 'smtp_client',
    });
    const connection = await mustConnect(table, loopbackPath(), {}, ctx);
    const outcomes = await connection.send(message(['a@example.com']), { signal: signal() });
    expect(outcomes[0]).toMatchObject({
      kind: 'delivered',
      peer: { name: 'smart.host.local', addr: `127.0.0.2:${s.port}` },
    });
    expect(s.messages).toHaveLength(1);
  });

  it('uses a table entry as given, with its name as the peer name', async () => {
    const s = await sink({ host: '127.0.0.2' });
    const table = { smtp: { mx_list: [{ name: 'mx.example.com', addr: `127.0.0.2:${s.port}` }] } };
    const connection = await mustConnect(table, loopbackPath());
    const outcomes = await connection.send(message(['a@example.com']), { signal: signal() });
    expect(outcomes[0]).toMatchObject({
      kind: 'delivered',
      peer: { name: 'mx.example.com', addr: `127.0.0.2:${s.port}` },
    });
  });

  it('reaches [ip], [ip]:port, [IPv6:…] and host:port entries', async () => {
    const v4 = await sink({ host: '127.0.0.2' });
    const v6 = await sink({ host: '::1' });
    const dns = await startDnsServer({ records: { 'mx.list.test': { A: ['127.0.0.2'] } } });
    later(() => dns.close());
    const ctx = testContext({ resolver: dns.resolver() });
    const cases: [string, number | undefined, string][] = [
      ['[127.0.0.2]', v4.port, `127.0.0.2:${v4.port}`],
      [`[127.0.0.2]:${v4.port}`, undefined, `127.0.0.2:${v4.port}`],
      [`[IPv6:::1]:${v6.port}`, undefined, `[::1]:${v6.port}`],
      [`mx.list.test:${v4.port}`, undefined, `127.0.0.2:${v4.port}`],
    ];
    for (const [entry, smtpPort, addr] of cases) {
      const path = loopbackPath(smtpPort ? { smtp_port: smtpPort } : {});
      const connection = await mustConnect({ smtp: { mx_list: [entry] } }, path, {}, ctx);
      const outcomes = await connection.send(message(['a@example.com']), { signal: signal() });
      expect(outcomes[0], entry).toMatchObject({ kind: 'delivered', peer: { addr } });
      await connection.close();
    }
    expect(v4.messages).toHaveLength(3);
    expect(v6.messages).toHaveLength(1);
  });

  it('fails transiently listing why each candidate failed when all fail', async () => {
    const a = await closedPort('127.0.0.9');
    const b = await closedPort('127.0.0.9');
    const table = {
      smtp: { mx_list: [`127.0.0.9:${a}`, { name: 'second.test', addr: `127.0.0.9:${b}` }] },
    };
    const result = await connect(table, loopbackPath());
    if (!isDeliveryFailure(result)) throw new Error('connected');
    expect(result.kind).toBe('transient');
    expect(result.response).toMatchObject({ code: 400, enhanced_code: null, command: null });
    expect(result.response.content).toMatch(
      new RegExp(
        `^KumoMTA internal: failed to connect to any candidate hosts: 127\\.0\\.0\\.9 127\\.0\\.0\\.9:${a}: .*ECONNREFUSED.*, second\\.test 127\\.0\\.0\\.9:${b}: .*ECONNREFUSED`,
      ),
    );
  });

  it('reports a name that does not resolve among the reasons', async () => {
    const dns = await startDnsServer({ records: {} });
    later(() => dns.close());
    const ctx = testContext({ resolver: dns.resolver() });
    const result = await connect({ smtp: { mx_list: ['nowhere.test'] } }, loopbackPath(), {}, ctx);
    expect(isDeliveryFailure(result) && result.response.content).toBe(
      'KumoMTA internal: failed to connect to any candidate hosts: nowhere.test: failed to resolve: NXDOMAIN',
    );
  });

  it('bounces a loopback mx_list under the default prohibited_hosts without connecting', async () => {
    const s = await sink({ host: '127.0.0.2' });
    const result = await connect(
      { smtp: { mx_list: [`127.0.0.2:${s.port}`] } },
      loopbackPath({ prohibited_hosts: ['127.0.0.0/8', '::1', '0.0.0.0', '::'] }),
    );
    expect(result).toMatchObject({
      kind: 'permanent',
      response: { code: 550, enhanced_code: { class: 5, subject: 4, detail: 4 } },
    });
    expect(s.sessions()).toBe(0);
  });

  it('binds the source address', async () => {
    const seen: string[] = [];
    const s = await sink({
      host: '127.0.0.2',
      onRcpt: (_address, session) => {
        seen.push(session.remoteAddress);
        return undefined;
      },
    });
    const connection = await mustConnect(
      { smtp: { mx_list: [`127.0.0.2:${s.port}`] } },
      loopbackPath(),
      {},
      testContext(),
      { name: 'ip-5', source_address: '127.0.0.5' },
    );
    const outcomes = await connection.send(message(['a@example.com']), { signal: signal() });
    expect(outcomes[0]!.kind).toBe('delivered');
    expect(seen.map((a) => a.replace(/^::ffff:/, ''))).toEqual(['127.0.0.5']);
  });
});

it('resolves mx_list names per ip_lookup_strategy', async () => {
  const v4 = await sink({ host: '127.0.0.2' });
  const v6 = await sink({ host: '::1', port: v4.port });
  const dns = await startDnsServer({
    records: { 'dual.test': { A: ['127.0.0.2'], AAAA: ['::1'] } },
  });
  later(() => dns.close());
  const ctx = testContext({ resolver: dns.resolver() });
  const table = { smtp: { mx_list: [`dual.test:${v4.port}`] } };
  for (const [strategy, addr] of [
    ['Ipv6Only', `[::1]:${v4.port}`],
    ['Ipv4Only', `127.0.0.2:${v4.port}`],
    ['Ipv6ThenIpv4', `[::1]:${v4.port}`],
    ['Ipv4AndIpv6', `127.0.0.2:${v4.port}`],
  ] as const) {
    const c = await mustConnect(table, loopbackPath({ ip_lookup_strategy: strategy }), {}, ctx);
    const outcomes = await c.send(message(['a@example.com']), { signal: signal() });
    expect(outcomes[0], strategy).toMatchObject({
      kind: 'delivered',
      peer: { name: 'dual.test', addr },
    });
    await c.close();
  }
  expect([v4.messages.length, v6.messages.length]).toEqual([2, 2]);
});
