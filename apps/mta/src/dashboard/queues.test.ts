import { describe, expect, it } from 'vitest';
import { matchingRule, queueNameParts } from './queues.js';

describe('queueNameParts', () => {
  it("reads KumoMTA's campaign:tenant@domain!routing_domain", () => {
    expect(queueNameParts('spring:acme@example.com!relay.example.net')).toEqual({
      domain: 'example.com',
      tenant: 'acme',
      campaign: 'spring',
      routing_domain: 'relay.example.net',
    });
    expect(queueNameParts('acme@example.com')).toEqual({
      domain: 'example.com',
      tenant: 'acme',
      campaign: null,
      routing_domain: null,
    });
    expect(queueNameParts('example.com')).toMatchObject({ domain: 'example.com', tenant: null });
  });
});

describe('matchingRule', () => {
  const rule = (id: string, selector: object) => ({
    id,
    reason: `r ${id}`,
    duration: 60,
    ...selector,
  });
  it('finds the first rule whose selector holds the queue, with its end time', () => {
    const rules = [
      rule('a', { domain: 'other.com' }),
      rule('b', { domain: 'Example.com', tenant: 'acme' }),
    ];
    expect(matchingRule(rules, 'acme@example.com', 1000)).toEqual({
      id: 'b',
      reason: 'r b',
      expires: 61_000,
    });
    expect(matchingRule(rules, 'example.com', 1000)).toBeNull();
  });
});
