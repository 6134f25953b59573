import { describe, expect, it } from 'vitest';
import { CidrMap, parseAddress } from './cidr-map.js';

describe('CidrMap', () => {
  it('matches addresses, blocks (most specific wins), literals and ports', () => {
    const map = new CidrMap();
    map.set('10.0.0.0/8', 'ten');
    map.set('10.1.0.0/16', 'ten-one');
    map.set('127.0.0.1', 'loopback');
    map.set('2001:db8::/32', 'doc6');
    expect(map.get('10.2.3.4')).toBe('ten');
    expect(map.get('10.1.3.4')).toBe('ten-one');
    expect(map.get('127.0.0.1:25')).toBe('loopback');
    expect(map.get('[127.0.0.1]')).toBe('loopback');
    expect(map.get('[IPv6:2001:db8::1]:25')).toBe('doc6');
    expect(map.get('2001:db9::1')).toBeUndefined();
    expect(map.get('not.an.ip')).toBeUndefined();
    map.set('10.1.0.0/16', undefined);
    expect(map.get('10.1.3.4')).toBe('ten');
    expect(() => map.set('10.0.0.0/33', 'x')).toThrow(/prefix/);
  });

  it('parses IPv6 forms', () => {
    expect(parseAddress('::1')).toEqual({ family: 6, bits: 1n });
    expect(parseAddress('::ffff:1.2.3.4')?.bits).toBe((0xffffn << 32n) | 0x01020304n);
    expect(parseAddress('1::')?.bits).toBe(1n << 112n);
  });
});
