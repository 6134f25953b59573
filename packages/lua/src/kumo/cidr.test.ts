import { describe, expect, it } from 'vitest';
import { cidrFunctions } from './cidr.js';

/** One map through the host functions, as the Lua prelude drives them. */
function makeMap() {
  const h = cidrFunctions(
    (v) => v,
    (v) => v,
  );
  const id = h.cidr_new();
  return {
    get: (key: unknown) => h.cidr_get(id, key),
    set: (key: unknown, value: unknown) => h.cidr_set(id, key, value),
    free: () => h.cidr_free(id),
  };
}

const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
};

describe('kumo.cidr.make_map host functions', () => {
  it('match addresses, blocks (most specific wins), literals and ports', () => {
    const map = makeMap();
    map.set('10.0.0.0/8', 'ten');
    map.set('10.1.0.0/16', 'ten-one');
    map.set('127.0.0.1', 'loopback');
    map.set('2001:db8::/32', 'doc6');
    expect(map.get('10.2.3.4')).toBe('ten');
    expect(map.get('10.1.3.4')).toBe('ten-one');
    expect(map.get('127.0.0.1:25')).toBe('loopback');
    expect(map.get('[127.0.0.1]')).toBe('loopback');
    expect(map.get('[IPv6:2001:db8::1]:25')).toBe('doc6');
    expect(map.get('[2001:db8::1]:25')).toBe('doc6');
    expect(map.get('2001:db9::1')).toBeUndefined();
    expect(map.get('not.an.ip')).toBeUndefined();
    expect(map.get(42)).toBeUndefined();
    map.set('10.1.0.0/16', undefined);
    expect(map.get('10.1.3.4')).toBe('ten');
    map.set('10.0.0.0/8', null);
    expect(map.get('10.1.3.4')).toBeUndefined();
  });

  it('accept an address key as a literal or with a port', () => {
    const map = makeMap();
    map.set('[192.0.2.1]:25', 'literal');
    map.set('[IPv6:::1]', 'v6');
    expect(map.get('192.0.2.1')).toBe('literal');
    expect(map.get('::1')).toBe('v6');
  });

  it('keep IPv4 out of IPv6 blocks: ::/0 answers nil for IPv4 peers', () => {
    const map = makeMap();
    map.set('::/0', 'any6');
    expect(map.get('::1')).toBe('any6');
    expect(map.get('2001:db8::25')).toBe('any6');
    expect(map.get('127.0.0.1')).toBeUndefined();
    expect(map.get('::ffff:127.0.0.1')).toBeUndefined();
    expect(map.get('[::ffff:127.0.0.1]:25')).toBeUndefined();
    map.set('0.0.0.0/0', 'any4');
    expect(map.get('::ffff:127.0.0.1')).toBe('any4');
    expect(map.get('::1')).toBe('any6');
    map.set('::ffff:10.0.0.0/104', 'ten');
    expect(map.get('10.9.8.7')).toBe('ten');
  });

  it('refuse keys that are not strict CIDR blocks, in KumoMTA’s words', () => {
    const map = makeMap();
    expect(thrown(() => map.set('10.0.0.0/33', 'x'))).toMatch(/^kumo\.cidr map: .*prefix/);
    expect(thrown(() => map.set('10.0.0.1/8', 'x'))).toBe(
      "kumo.cidr map: '10.0.0.1/8' is not a valid CIDR block: the address has bits set past /8 (did you mean '10.0.0.0/8'?)",
    );
    expect(thrown(() => map.set('mx.example.com', 'x'))).toBe(
      "kumo.cidr map: 'mx.example.com' is not an IP address or CIDR block",
    );
  });

  it('refuse a freed map', () => {
    const map = makeMap();
    map.free();
    expect(thrown(() => map.get('10.0.0.1'))).toBe('this CIDR map was freed');
  });
});
