import { describe, expect, it } from 'vitest';
import { formatQueueName, formatReadyQueueName, parseQueueName } from './queue-name.js';

// kumo-reference.md §6: every combination of tenant, campaign and routing domain.
const CASES = [
  { tenant: 'T', campaign: 'C', routingDomain: undefined, name: 'C:T@example.com' },
  { tenant: 'T', campaign: 'C', routingDomain: 'r.example', name: 'C:T@example.com!r.example' },
  { tenant: 'T', campaign: undefined, routingDomain: undefined, name: 'T@example.com' },
  { tenant: 'T', campaign: undefined, routingDomain: 'r.example', name: 'T@example.com!r.example' },
  { tenant: undefined, campaign: 'C', routingDomain: undefined, name: 'C:@example.com' },
  {
    tenant: undefined,
    campaign: 'C',
    routingDomain: 'r.example',
    name: 'C:@example.com!r.example',
  },
  { tenant: undefined, campaign: undefined, routingDomain: undefined, name: 'example.com' },
  {
    tenant: undefined,
    campaign: undefined,
    routingDomain: 'r.example',
    name: 'example.com!r.example',
  },
] as const;

describe('queue names', () => {
  it.each(CASES)('formats $name', ({ tenant, campaign, routingDomain, name }) => {
    expect(formatQueueName({ domain: 'Example.COM', tenant, campaign, routingDomain })).toBe(name);
  });

  it.each(CASES)('parses $name', ({ tenant, campaign, routingDomain, name }) => {
    // A campaign without a tenant parses back with an empty tenant, as in KumoMTA.
    const expectedTenant = campaign !== undefined && tenant === undefined ? '' : tenant;
    expect(parseQueueName(name)).toEqual({
      domain: 'example.com',
      tenant: expectedTenant,
      campaign,
      routingDomain,
    });
  });

  it('treats a name without @ as all domain, ports included', () => {
    expect(parseQueueName('webhook')).toEqual({
      domain: 'webhook',
      tenant: undefined,
      campaign: undefined,
      routingDomain: undefined,
    });
    expect(parseQueueName('foo.com:2025').domain).toBe('foo.com:2025');
    expect(parseQueueName('foo.com!routing.com:2025')).toMatchObject({
      domain: 'foo.com',
      routingDomain: 'routing.com:2025',
    });
  });

  it('splits at the first separator of each kind', () => {
    expect(parseQueueName('a:b:c@d!e!f')).toEqual({
      campaign: 'a',
      tenant: 'b:c',
      domain: 'd',
      routingDomain: 'e!f',
    });
  });

  it('refuses an empty domain', () => {
    expect(() => formatQueueName({ domain: '' })).toThrow(/domain is empty/);
  });

  it('formats ready queue names', () => {
    expect(formatReadyQueueName('unspecified', 'webhook', 'lua:make.webhook')).toBe(
      'unspecified->webhook@lua:make.webhook',
    );
  });
});
