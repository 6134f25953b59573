import { isDeliveryFailure } from '@sterna/core';
import { testContext } from '@sterna/protocol-testkit';
import { describe, expect, it } from 'vitest';
import {
  closedPort,
  connect,
  listFor,
  loopbackPath,
  message,
  mustConnect,
  signal,
  sink,
} from './helpers.js';

// The egress source a ready queue hands to connect(): the address bound, the EHLO name, the port.
describe('egress source', () => {
  it("binds source_address, says the source's ehlo_domain and reports the local end", async () => {
    const s = await sink({ tls: false });
    const source = { name: 'ip-2', source_address: '127.0.0.2', ehlo_domain: 'mta2.example.com' };
    const c = await mustConnect(listFor(s), loopbackPath(), {}, testContext(), source);
    const [outcome] = await c.send(message(['a@example.com']), { signal: signal() });
    expect(outcome).toMatchObject({ kind: 'delivered' });
    expect(outcome!.source_address?.address).toMatch(/^127\.0\.0\.2:\d+$/);
    expect(s.messages[0]).toMatchObject({
      remoteAddress: '127.0.0.2',
      heloName: 'mta2.example.com',
    });
  });

  it("lets the egress path's ehlo_domain win over the source's, and the host name come last", async () => {
    const s = await sink({ tls: false });
    const source = { name: 'ip-3', ehlo_domain: 'from-source.example.com' };
    const withPath = await mustConnect(
      listFor(s),
      loopbackPath({ ehlo_domain: 'from-path.example.com' }),
      {},
      testContext(),
      source,
    );
    await withPath.send(message(['a@example.com']), { signal: signal() });
    const bare = await mustConnect(listFor(s), loopbackPath());
    const [outcome] = await bare.send(message(['b@example.com']), { signal: signal() });
    expect(s.messages.map((m) => m.heloName)).toEqual(['from-path.example.com', 'sterna.test']);
    // The kernel's choice is still reported.
    expect(outcome!.source_address?.address).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it("connects to the source's remote_port instead of the mx_list port", async () => {
    const s = await sink({ tls: false });
    const dead = await closedPort('127.0.0.1');
    const table = { smtp: { mx_list: [`127.0.0.1:${dead}`] } };
    const c = await mustConnect(table, loopbackPath(), {}, testContext(), {
      name: 'ported',
      remote_port: s.port,
    });
    const [outcome] = await c.send(message(['a@example.com']), { signal: signal() });
    expect(outcome).toMatchObject({ kind: 'delivered', peer: { addr: `127.0.0.1:${s.port}` } });
  });

  it('fails transiently, naming the source and address, when the address cannot be bound', async () => {
    const s = await sink({ tls: false });
    const second = await sink({ tls: false });
    const table = {
      smtp: { mx_list: [`127.0.0.1:${s.port}`, `127.0.0.1:${second.port}`] },
    };
    const result = await connect(table, loopbackPath(), {}, testContext(), {
      name: 'unplumbed',
      source_address: '192.0.2.1',
    });
    expect(isDeliveryFailure(result)).toBe(true);
    expect(result).toMatchObject({ kind: 'transient', response: { code: 400 } });
    const content = isDeliveryFailure(result) ? result.response.content : '';
    expect(content).toBe(
      "KumoMTA internal: failed to connect to any candidate hosts: egress source 'unplumbed' cannot bind source_address 192.0.2.1: EADDRNOTAVAIL (is the address configured on this host?)",
    );
    // The bind fails before any connection: no host was reached, and the second was not tried.
    expect(s.sessions() + second.sessions()).toBe(0);
  });

  it('refuses a source that needs a proxy instead of connecting directly', async () => {
    const s = await sink({ tls: false });
    for (const [source, words] of [
      [{ name: 'via-socks', socks5_proxy_server: '127.0.0.1:1080' }, 'a socks5 proxy'],
      [{ name: 'via-haproxy', ha_proxy_server: '127.0.0.1:2000' }, 'a haproxy proxy'],
    ] as const) {
      const result = await connect(listFor(s), loopbackPath(), {}, testContext(), source);
      expect(result).toMatchObject({ kind: 'transient' });
      const content = isDeliveryFailure(result) ? result.response.content : '';
      expect(content).toContain(`egress source '${source.name}' sends through ${words}`);
      expect(content).toContain('does not support yet');
    }
    expect(s.sessions()).toBe(0);
  });
});
