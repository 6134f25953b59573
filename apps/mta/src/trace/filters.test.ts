import { describe, expect, it } from 'vitest';
import { clientFilter, ipOf, serverFilter } from './filters.js';
import { clientRequestSchema, serverRequestSchema } from './types.js';

const server = (input: unknown) => serverFilter(serverRequestSchema.parse(input));
const client = (input: unknown) => clientFilter(clientRequestSchema.parse(input));

describe('trace filters', () => {
  it('reads the address of ip:port and [v6]:port', () => {
    expect(ipOf('10.1.2.3:25')).toBe('10.1.2.3');
    expect(ipOf('[::1]:2525')).toBe('::1');
    expect(ipOf('::1')).toBe('::1');
    expect(ipOf(undefined)).toBeUndefined();
  });

  it('matches inbound sessions by source_addr, all of them without one', () => {
    expect(server({})({ received_from: '192.0.2.1:1000' })).toBe(true);
    const only = server({ source_addr: ['10.0.0.0/8', '::1'] });
    expect(only({ received_from: '10.9.9.9:1000' })).toBe(true);
    expect(only({ received_from: '[::1]:1000' })).toBe(true);
    expect(only({ received_from: '192.0.2.1:1000' })).toBe(false);
  });

  it('names the field and the entry of a bad CIDR', () => {
    expect(() => server({ source_addr: ['nope'] })).toThrow(/^source_addr: .*'nope'/);
    expect(() => client({ mx_addr: '10.0.0.0/99' })).toThrow(/^mx_addr: /);
  });

  it('applies each outbound allow-list once the session has that property', () => {
    const filter = client({ domain: 'example.com', ready_queue: ['q1'] });
    // Before a message is in hand the domain is unknown: the session passes on its queue.
    expect(filter({ ready_queue: 'q1' })).toBe(true);
    expect(filter({ ready_queue: 'q2' })).toBe(false);
    expect(filter({ ready_queue: 'q1', domain: 'EXAMPLE.com' })).toBe(true);
    expect(filter({ ready_queue: 'q1', domain: 'other.com' })).toBe(false);
  });

  it('matches list properties (rcpt_to) when any value is allowed, and addresses by CIDR', () => {
    const filter = client({
      rcpt_to: ['b@x.test'],
      mx_addr: ['127.0.0.0/8'],
      source_addr: ['10.0.0.1'],
    });
    expect(filter({ rcpt_to: ['a@x.test', 'b@x.test'], mx_addr: '127.0.0.9' })).toBe(true);
    expect(filter({ rcpt_to: ['a@x.test'] })).toBe(false);
    expect(filter({ mx_addr: '192.0.2.1' })).toBe(false);
    expect(filter({ source_address: '10.0.0.1:4000' })).toBe(true);
    expect(filter({ source_address: '10.0.0.2:4000' })).toBe(false);
  });

  it('takes terse as a boolean or a query-string flag', () => {
    expect(serverRequestSchema.parse({ terse: 'true' }).terse).toBe(true);
    expect(serverRequestSchema.parse({}).terse).toBe(false);
  });
});
