import { isDeliveryFailure } from '@sterna/core';
import { egressPath } from '@sterna/core/engine';
import {
  type DnsServerOptions,
  startDnsServer,
  startSmtpSink,
  testContext,
} from '@sterna/protocol-testkit';
import { describe, expect, it } from 'vitest';
import { smtpDriver } from '../src/index.js';
import { later, loopbackPath, message, options, signal, sink } from './helpers.js';

async function dns(records: DnsServerOptions['records']) {
  const server = await startDnsServer({ records });
  later(() => server.close());
  return testContext({ resolver: server.resolver() });
}

async function siteOf(domain: string, ctx: ReturnType<typeof testContext>, routingDomain?: string) {
  return smtpDriver.site(options({ smtp: {} }), { queue: domain, domain, routingDomain }, ctx);
}

// Two sinks on one port at two loopback addresses, so MX hosts can share smtp_port.
async function twoSinks() {
  const first = await sink({ host: '127.0.0.2' });
  const second = await startSmtpSink({ host: '127.0.0.3', port: first.port });
  later(() => second.close());
  return [first, second] as const;
}

describe('MX resolution', () => {
  it('delivers to the lowest preference first', async () => {
    const [low, high] = await twoSinks();
    const ctx = await dns({
      'example.com': {
        MX: [
          { exchange: 'mx20.example.com', priority: 20 },
          { exchange: 'mx10.example.com', priority: 10 },
        ],
      },
      'mx10.example.com': { A: ['127.0.0.2'] },
      'mx20.example.com': { A: ['127.0.0.3'] },
    });
    const resolution = await siteOf('example.com', ctx);
    if (!('site' in resolution)) throw new Error('no site');
    expect(resolution.site).toMatchObject({
      name: '(mx10|mx20).example.com',
      service: 'smtp_client',
    });
    const connection = await smtpDriver.connect(
      resolution.site,
      options({ smtp: {} }),
      ctx,
      loopbackPath({ smtp_port: low.port }),
    );
    if (isDeliveryFailure(connection)) throw new Error(connection.response.content);
    later(() => connection.close());
    const outcomes = await connection.send(message(['a@example.com']), { signal: signal() });
    expect(outcomes[0]).toMatchObject({
      kind: 'delivered',
      peer: { name: 'mx10.example.com', addr: `127.0.0.2:${low.port}` },
    });
    expect(low.messages).toHaveLength(1);
    expect(high.messages).toHaveLength(0);
  });

  it('falls back to the next preference when the first does not answer', async () => {
    const [, backup] = await twoSinks();
    const ctx = await dns({
      'example.com': {
        MX: [
          { exchange: 'dead.example.com', priority: 5 },
          { exchange: 'backup.example.com', priority: 50 },
        ],
      },
      // Nothing listens on 127.0.0.9 at the sinks' port.
      'dead.example.com': { A: ['127.0.0.9'] },
      'backup.example.com': { A: ['127.0.0.3'] },
    });
    const resolution = await siteOf('example.com', ctx);
    if (!('site' in resolution)) throw new Error('no site');
    const connection = await smtpDriver.connect(
      resolution.site,
      options({ smtp: {} }),
      ctx,
      loopbackPath({ smtp_port: backup.port }),
    );
    if (isDeliveryFailure(connection)) throw new Error(connection.response.content);
    later(() => connection.close());
    const outcomes = await connection.send(message(['a@example.com']), { signal: signal() });
    expect(outcomes[0]).toMatchObject({ kind: 'delivered', peer: { name: 'backup.example.com' } });
    expect(backup.messages).toHaveLength(1);
  });

  it('uses the routing domain rather than the recipient domain', async () => {
    const s = await sink({ host: '127.0.0.2' });
    const ctx = await dns({
      'relay.example': { MX: [{ exchange: 'mx.relay.example', priority: 10 }] },
      'mx.relay.example': { A: ['127.0.0.2'] },
    });
    const resolution = await siteOf('example.com', ctx, 'relay.example');
    expect(resolution).toMatchObject({ site: { name: 'mx.relay.example' } });
    if (!('site' in resolution)) return;
    const connection = await smtpDriver.connect(
      resolution.site,
      options({ smtp: {} }),
      ctx,
      loopbackPath({ smtp_port: s.port }),
    );
    if (isDeliveryFailure(connection)) throw new Error(connection.response.content);
    later(() => connection.close());
    expect((await connection.send(message(['a@example.com']), { signal: signal() }))[0]!.kind).toBe(
      'delivered',
    );
  });

  it('uses the domain itself when it has no MX (implicit MX)', async () => {
    const s = await sink({ host: '127.0.0.2' });
    const ctx = await dns({ 'plain.example': { A: ['127.0.0.2'] } });
    const resolution = await siteOf('plain.example', ctx);
    expect(resolution).toMatchObject({ site: { name: 'plain.example', service: 'smtp_client' } });
    if (!('site' in resolution)) return;
    const connection = await smtpDriver.connect(
      resolution.site,
      options({ smtp: {} }),
      ctx,
      loopbackPath({ smtp_port: s.port }),
    );
    if (isDeliveryFailure(connection)) throw new Error(connection.response.content);
    later(() => connection.close());
    const outcomes = await connection.send(message(['a@plain.example']), { signal: signal() });
    expect(outcomes[0]).toMatchObject({ kind: 'delivered', peer: { name: 'plain.example' } });
  });

  it('bounces a null MX with 556 5.1.10', async () => {
    const ctx = await dns({ 'nomail.example': { MX: [{ exchange: '', priority: 0 }] } });
    expect(await siteOf('nomail.example', ctx)).toEqual({
      failure: {
        kind: 'permanent',
        response: {
          code: 556,
          enhanced_code: { class: 5, subject: 1, detail: 10 },
          content: 'Recipient address has a null MX',
          command: null,
        },
      },
    });
  });

  it('defers NXDOMAIN with 451 4.4.4 and the reason', async () => {
    const ctx = await dns({});
    expect(await siteOf('missing.example', ctx)).toEqual({
      failure: {
        kind: 'transient',
        response: {
          code: 451,
          enhanced_code: { class: 4, subject: 4, detail: 4 },
          content: 'MX lookup for missing.example failed: NXDOMAIN',
          command: null,
        },
      },
    });
  });

  it('defers a resolver time-out with 451 4.4.4 and the error code', async () => {
    const ctx = await dns({ 'slow.example': { stall: true } });
    expect(await siteOf('slow.example', ctx)).toMatchObject({
      failure: {
        kind: 'transient',
        response: { code: 451, content: 'MX lookup for slow.example failed: ETIMEOUT' },
      },
    });
  });

  it('skips MX hosts without addresses, and defers when none is left', async () => {
    const ctx = await dns({
      'half.example': {
        MX: [
          { exchange: 'gone.half.example', priority: 1 },
          { exchange: 'mx.half.example', priority: 2 },
        ],
      },
      'mx.half.example': { A: ['127.0.0.2'] },
      'none.example': {
        MX: [
          { exchange: 'gone.none.example', priority: 1 },
          { exchange: 'empty.none.example', priority: 2 },
        ],
      },
      'empty.none.example': {},
    });
    const half = await siteOf('half.example', ctx);
    expect(half).toMatchObject({ site: { name: '(gone|mx).half.example' } });
    const none = await siteOf('none.example', ctx);
    expect(none).toMatchObject({
      failure: {
        kind: 'transient',
        response: { code: 451, content: "MX didn't resolve to any hosts" },
      },
    });
  });

  it('gives domains with the same MX set the same site', async () => {
    const ctx = await dns({
      'a.example': {
        MX: [
          { exchange: 'mx1.shared.example', priority: 10 },
          { exchange: 'mx2.shared.example', priority: 20 },
        ],
      },
      'b.example': {
        MX: [
          { exchange: 'MX2.shared.example.', priority: 5 },
          { exchange: 'mx1.shared.example', priority: 5 },
        ],
      },
      'mx1.shared.example': { A: ['192.0.2.1'] },
      'mx2.shared.example': { A: ['192.0.2.2'], AAAA: ['2001:db8::2'] },
    });
    const a = await siteOf('a.example', ctx);
    const b = await siteOf('b.example', ctx);
    expect('site' in a && a.site.name).toBe('(mx1|mx2).shared.example');
    expect('site' in b && b.site.name).toBe('(mx1|mx2).shared.example');
  });

  it('uses a domain literal recipient domain without DNS', async () => {
    const s = await sink({ host: '127.0.0.2' });
    const resolution = await siteOf('[127.0.0.2]', testContext());
    expect(resolution).toMatchObject({ site: { name: '[127.0.0.2]' } });
    if (!('site' in resolution)) return;
    const connection = await smtpDriver.connect(
      resolution.site,
      options({ smtp: {} }),
      testContext(),
      loopbackPath({ smtp_port: s.port }),
    );
    if (isDeliveryFailure(connection)) throw new Error(connection.response.content);
    later(() => connection.close());
    expect(
      (await connection.send(message(['user@[127.0.0.2]']), { signal: signal() }))[0]!.kind,
    ).toBe('delivered');
    expect(s.messages[0]!.recipients).toEqual(['user@[127.0.0.2]']);
  });

  it('bounces an MX on loopback under the default prohibited_hosts, and delivers with []', async () => {
    const s = await sink({ host: '127.0.0.2' });
    const ctx = await dns({
      'loop.example': { MX: [{ exchange: 'mx.loop.example', priority: 10 }] },
      'mx.loop.example': { A: ['127.0.0.2'] },
    });
    const resolution = await siteOf('loop.example', ctx);
    if (!('site' in resolution)) throw new Error('no site');
    const refused = await smtpDriver.connect(
      resolution.site,
      options({ smtp: {} }),
      ctx,
      egressPath({ smtp_port: s.port }),
    );
    expect(refused).toMatchObject({
      kind: 'permanent',
      response: { code: 550, enhanced_code: { class: 5, subject: 4, detail: 4 } },
    });
    expect(isDeliveryFailure(refused) && refused.response.content).toContain('prohibited_hosts');
    expect(s.sessions()).toBe(0);
    const allowed = await smtpDriver.connect(
      resolution.site,
      options({ smtp: {} }),
      ctx,
      egressPath({ smtp_port: s.port, prohibited_hosts: [], enable_tls: 'OpportunisticInsecure' }),
    );
    if (isDeliveryFailure(allowed)) throw new Error(allowed.response.content);
    later(() => allowed.close());
    expect((await allowed.send(message(['a@loop.example']), { signal: signal() }))[0]!.kind).toBe(
      'delivered',
    );
  });
});
