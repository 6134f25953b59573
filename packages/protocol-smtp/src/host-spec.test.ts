import { describe, expect, it } from 'vitest';
import { formatAddr, parseAddressSpec, parseDomainLiteral, parseHostSpec } from './host-spec.js';

describe('parseDomainLiteral', () => {
  it('reads IPv4 and IPv6 literals', () => {
    expect(parseDomainLiteral('[10.0.0.1]')).toBe('10.0.0.1');
    expect(parseDomainLiteral('[IPv6:::1]')).toBe('::1');
    expect(parseDomainLiteral('[ipv6:2001:db8::5]')).toBe('2001:db8::5');
    expect(parseDomainLiteral('[::1]')).toBe('::1');
  });

  it('refuses what is not a literal', () => {
    expect(parseDomainLiteral('10.0.0.1')).toBeUndefined();
    expect(parseDomainLiteral('[example.com]')).toBeUndefined();
    expect(parseDomainLiteral('[IPv6:10.0.0.1]')).toBeUndefined();
    expect(parseDomainLiteral('[300.0.0.1]')).toBeUndefined();
  });
});

describe('parseAddressSpec', () => {
  it('reads every address form with and without a port', () => {
    expect(parseAddressSpec('10.0.0.1')).toEqual({ host: '10.0.0.1' });
    expect(parseAddressSpec('::1')).toEqual({ host: '::1' });
    expect(parseAddressSpec('[10.0.0.1]')).toEqual({ host: '10.0.0.1' });
    expect(parseAddressSpec('[IPv6:::1]')).toEqual({ host: '::1' });
    expect(parseAddressSpec('10.0.0.1:2025')).toEqual({ host: '10.0.0.1', port: 2025 });
    expect(parseAddressSpec('[10.0.0.1]:2025')).toEqual({ host: '10.0.0.1', port: 2025 });
    expect(parseAddressSpec('[IPv6:::1]:26')).toEqual({ host: '::1', port: 26 });
  });

  it('refuses names, bad ports and bad addresses', () => {
    expect(parseAddressSpec('mx.example.com')).toBeUndefined();
    expect(parseAddressSpec('10.0.0.1:0')).toBeUndefined();
    expect(parseAddressSpec('10.0.0.1:70000')).toBeUndefined();
    expect(parseAddressSpec('10.0.0.256')).toBeUndefined();
    expect(parseAddressSpec('[10.0.0.1]:x')).toBeUndefined();
  });
});

describe('parseHostSpec', () => {
  it('reads names, host:port and addresses', () => {
    expect(parseHostSpec('Smart.Host.Local.')).toEqual({
      host: 'smart.host.local',
      isAddress: false,
      port: undefined,
      name: 'smart.host.local',
    });
    expect(parseHostSpec('smart.host.local:2025')).toMatchObject({
      host: 'smart.host.local',
      port: 2025,
      isAddress: false,
    });
    expect(parseHostSpec('[127.0.0.2]:2025')).toEqual({
      host: '127.0.0.2',
      isAddress: true,
      port: 2025,
      name: '[127.0.0.2]',
    });
    expect(parseHostSpec('[IPv6:::1]')).toMatchObject({ host: '::1', isAddress: true });
    expect(parseHostSpec('::1')).toMatchObject({ host: '::1', isAddress: true, name: '::1' });
  });

  it('explains what it refuses', () => {
    expect(parseHostSpec('bad host!')).toHaveProperty('error');
    expect(parseHostSpec('mx.example.com:0')).toEqual({ error: "'0' is not a port (1-65535)" });
    expect(parseHostSpec('[mx.example.com]')).toHaveProperty('error');
    expect(parseHostSpec('/run/lmtp.sock')).toHaveProperty('error');
  });
});

it('formats peer addresses with their port', () => {
  expect(formatAddr('10.0.0.1', 25)).toBe('10.0.0.1:25');
  expect(formatAddr('::1', 25)).toBe('[::1]:25');
});
