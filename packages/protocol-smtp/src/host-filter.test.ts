import { DEFAULT_EGRESS_PATH, isSternaError } from '@sterna/core';
import { expect, it } from 'vitest';
import { hostFilter } from './host-filter.js';

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
