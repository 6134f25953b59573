import { isDeliveryFailure, isSternaError } from '@sterna/core';
import { DEFAULT_EGRESS_PATH, egressPath } from '@sterna/core/engine';
import { type DnsServer, startDnsServer, testContext } from '@sterna/protocol-testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { planCandidates } from './candidates.js';
import { hostFilter } from './host-filter.js';
import { smtpDriver } from './index.js';
import { planOf } from './plan.js';

it('matches the default prohibited hosts', () => {
  const filter = hostFilter(DEFAULT_EGRESS_PATH.prohibited_hosts, 'prohibited_hosts');
  for (const a of ['127.0.0.1', '127.0.0.9', '::1', '0.0.0.0', '::', '::ffff:127.0.0.2']) {
    expect(filter.matches(a), a).toBe(true);
  }
  for (const a of ['10.0.0.1', '192.0.2.7', '2001:db8::1', 'not-an-ip']) {
    expect(filter.matches(a), a).toBe(false);
  }
});

it('matches CIDRs of both families', () => {
  const filter = hostFilter(['10.0.0.0/8', '2001:db8::/32'], 'skip_hosts');
  expect(filter.matches('10.200.0.1')).toBe(true);
  expect(filter.matches('11.0.0.1')).toBe(false);
  expect(filter.matches('2001:db8:ffff::1')).toBe(true);
  expect(filter.matches('2001:db9::1')).toBe(false);
});

it('refuses entries that are not CIDRs, naming the field', () => {
  for (const bad of [['mx.example.com'], ['10.0.0.0/33'], ['10.0.0.0/8/1'], ['10.0.0.0/x']]) {
    let caught: unknown;
    try {
      hostFilter(bad, 'skip_hosts');
    } catch (error) {
      caught = error;
    }
    expect(isSternaError(caught, 'STERNA_SMTP_PATH_INVALID'), bad[0]).toBe(true);
    expect((caught as Error).message).toContain('skip_hosts');
  }
});

it('keeps IPv6 rules away from IPv4 addresses (skip_hosts = { "::/0" } skips IPv6 only)', () => {
  const filter = hostFilter(['::/0'], 'skip_hosts');
  expect(filter.matches('::1')).toBe(true);
  expect(filter.matches('127.0.0.1')).toBe(false);
});

it('refuses a CIDR with host bits set, as KumoMTA does, naming the field and the entry', () => {
  let caught: unknown;
  try {
    hostFilter(['192.168.1.1/24'], 'prohibited_hosts');
  } catch (error) {
    caught = error;
  }
  expect(isSternaError(caught, 'STERNA_SMTP_PATH_INVALID')).toBe(true);
  expect((caught as Error).message).toBe(
    "egress path prohibited_hosts: '192.168.1.1/24' is not a valid CIDR block: the address has bits set past /24 (did you mean '192.168.1.0/24'?)",
  );
});

it('reads IPv4-mapped rules and addresses as IPv4', () => {
  const mapped = hostFilter(['::ffff:10.0.0.0/104'], 'skip_hosts');
  expect(mapped.matches('10.1.2.3')).toBe(true);
  expect(mapped.matches('::ffff:10.1.2.3')).toBe(true);
  expect(mapped.matches('11.1.2.3')).toBe(false);
  const everyV4 = hostFilter(['::ffff:0:0/96'], 'skip_hosts');
  expect(everyV4.matches('192.0.2.1')).toBe(true);
  expect(everyV4.matches('2001:db8::1')).toBe(false);
  expect(hostFilter(['::/64'], 'skip_hosts').matches('::ffff:192.0.2.1')).toBe(false);
});

describe('"::/0" against a real MX with A and AAAA records', () => {
  const ctx = testContext();
  let dns: DnsServer | undefined;
  afterEach(async () => {
    await dns?.close();
    dns = undefined;
  });

  // example.test's MX has an IPv4 and an IPv6 address; its backup only an IPv4 one.
  async function mxPlan() {
    dns = await startDnsServer({
      records: {
        'example.test': {
          MX: [
            { exchange: 'mx1.example.test', priority: 10 },
            { exchange: 'mx2.example.test', priority: 20 },
          ],
        },
        'mx1.example.test': { A: ['192.0.2.1'], AAAA: ['2001:db8::1'] },
        'mx2.example.test': { A: ['192.0.2.2'] },
      },
    });
    const resolverCtx = testContext({ resolver: dns.resolver() });
    const options = smtpDriver.options['~standard'].validate({ smtp: {} });
    if (options instanceof Promise || options.issues) throw new Error('bad options');
    const target = { queue: 'example.test', domain: 'example.test' };
    const resolution = await smtpDriver.site(options.value, target, resolverCtx);
    if (!('site' in resolution)) throw new Error('no site');
    return planOf(resolution.site);
  }

  it('skip_hosts drops only the IPv6 addresses', async () => {
    const plan = await mxPlan();
    // Addresses of one preference level are shuffled: compare them as sets.
    const all = await planCandidates(plan, egressPath({ prohibited_hosts: [] }), ctx);
    if (isDeliveryFailure(all)) throw new Error(all.response.content);
    expect(new Set(all.candidates.map((c) => c.address))).toEqual(
      new Set(['2001:db8::1', '192.0.2.1', '192.0.2.2']),
    );
    const path = egressPath({ prohibited_hosts: [], skip_hosts: ['::/0'] });
    const list = await planCandidates(plan, path, ctx);
    if (isDeliveryFailure(list)) throw new Error(list.response.content);
    expect(list.candidates.map((c) => `${c.name} ${c.address}`)).toEqual([
      'mx1.example.test 192.0.2.1',
      'mx2.example.test 192.0.2.2',
    ]);
    expect(list.errors).toEqual([]);
  });

  it('prohibited_hosts bans only the IPv6 addresses', async () => {
    const plan = await mxPlan();
    // An MX with an IPv6 address is prohibited as a whole, as any prohibited address makes it.
    const banned = await planCandidates(plan, egressPath({ prohibited_hosts: ['::/0'] }), ctx);
    expect(banned).toMatchObject({
      kind: 'permanent',
      response: { code: 550, content: expect.stringContaining('(2001:db8::1)') },
    });
    // IPv4 delivery is untouched by the IPv6 rule.
    const path = egressPath({ prohibited_hosts: ['::/0'], ip_lookup_strategy: 'Ipv4Only' });
    const list = await planCandidates(plan, path, ctx);
    if (isDeliveryFailure(list)) throw new Error(list.response.content);
    expect(list.candidates.map((c) => c.address)).toEqual(['192.0.2.1', '192.0.2.2']);
    // And the IPv4 rule leaves IPv6 alone.
    const v4Banned = egressPath({
      prohibited_hosts: ['0.0.0.0/0'],
      ip_lookup_strategy: 'Ipv6Only',
    });
    const v6 = await planCandidates(plan, v4Banned, ctx);
    if (isDeliveryFailure(v6)) throw new Error(v6.response.content);
    expect(v6.candidates.map((c) => c.address)).toEqual(['2001:db8::1']);
  });
});
