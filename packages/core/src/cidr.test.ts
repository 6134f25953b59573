import { describe, expect, it } from 'vitest';
import {
  CidrMap,
  cidrContains,
  cidrSet,
  formatCidr,
  formatIpAddress,
  parseCidr,
  parseIpAddress,
} from './engine.js';
import { CidrSet } from './index.js';

const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected an error');
};

describe('parseIpAddress', () => {
  it('reads IPv4 as one number and IPv6 as four words', () => {
    expect(parseIpAddress('10.1.2.3')).toEqual({ family: 4, value: 0x0a010203 });
    expect(parseIpAddress('255.255.255.255')).toEqual({ family: 4, value: 0xffffffff });
    expect(parseIpAddress('::1')).toEqual({ family: 6, words: [0, 0, 0, 1] });
    expect(parseIpAddress('2001:DB8::8:800:200C:417A')).toEqual({
      family: 6,
      words: [0x20010db8, 0, 0x00080800, 0x200c417a],
    });
    expect(parseIpAddress('1::')).toEqual({ family: 6, words: [0x00010000, 0, 0, 0] });
    expect(parseIpAddress('::')).toEqual({ family: 6, words: [0, 0, 0, 0] });
    expect(parseIpAddress('1:2:3:4:5:6:7.8.9.10')).toEqual({
      family: 6,
      words: [0x00010002, 0x00030004, 0x00050006, 0x0708090a],
    });
  });

  it('reads an IPv4-mapped address, in either spelling, as its IPv4 address', () => {
    const loopback = { family: 4, value: 0x7f000001 };
    expect(parseIpAddress('::ffff:127.0.0.1')).toEqual(loopback);
    expect(parseIpAddress('::FFFF:127.0.0.1')).toEqual(loopback);
    expect(parseIpAddress('::ffff:7f00:1')).toEqual(loopback);
    expect(parseIpAddress('0:0:0:0:0:ffff:7f00:1')).toEqual(loopback);
    // IPv4-compatible (`::a.b.c.d`) and NAT64 addresses stay IPv6.
    expect(parseIpAddress('::127.0.0.1')?.family).toBe(6);
    expect(parseIpAddress('64:ff9b::7f00:1')?.family).toBe(6);
  });

  it('ignores an IPv6 zone and refuses what is not an address', () => {
    expect(parseIpAddress('fe80::1%eth0')).toEqual(parseIpAddress('fe80::1'));
    for (const bad of [
      '',
      'not.an.ip',
      '10.0.0',
      '10.0.0.256',
      '01.0.0.1',
      '1::2::3',
      ' 10.0.0.1',
    ]) {
      expect(parseIpAddress(bad), bad).toBeUndefined();
    }
  });

  it('reads domain literals and ports only when asked', () => {
    expect(parseIpAddress('127.0.0.1:25')).toBeUndefined();
    expect(parseIpAddress('[127.0.0.1]')).toBeUndefined();
    const literal = { literal: true };
    expect(parseIpAddress('127.0.0.1:25', literal)).toEqual(parseIpAddress('127.0.0.1'));
    expect(parseIpAddress('[127.0.0.1]', literal)).toEqual(parseIpAddress('127.0.0.1'));
    expect(parseIpAddress('[127.0.0.1]:2525', literal)).toEqual(parseIpAddress('127.0.0.1'));
    expect(parseIpAddress('[IPv6:::1]', literal)).toEqual(parseIpAddress('::1'));
    expect(parseIpAddress('[ipv6:2001:db8::1]:25', literal)).toEqual(parseIpAddress('2001:db8::1'));
    expect(parseIpAddress('[::1]:25', literal)).toEqual(parseIpAddress('::1'));
    expect(parseIpAddress('[::ffff:10.0.0.1]', literal)).toEqual(parseIpAddress('10.0.0.1'));
    expect(parseIpAddress('[127.0.0.1]x', literal)).toBeUndefined();
    expect(parseIpAddress('mx.example.com:25', literal)).toBeUndefined();
  });

  it('formats addresses as RFC 5952 does', () => {
    for (const text of ['10.1.2.3', '::', '::1', '1::', '2001:db8::1', '2001:db8:0:1:1:1:1:1']) {
      expect(formatIpAddress(parseIpAddress(text)!)).toBe(text);
    }
    expect(formatIpAddress(parseIpAddress('2001:DB8:0:0:1:0:0:1')!)).toBe('2001:db8::1:0:0:1');
    expect(formatIpAddress({ family: 6, words: [0, 0, 0xffff, 0x0a000001] })).toBe(
      '::ffff:10.0.0.1',
    );
  });
});

describe('parseCidr', () => {
  it('reads addresses as one-address blocks, and blocks', () => {
    expect(formatCidr(parseCidr('127.0.0.1'))).toBe('127.0.0.1/32');
    expect(formatCidr(parseCidr('::1'))).toBe('::1/128');
    expect(formatCidr(parseCidr('10.0.0.0/8'))).toBe('10.0.0.0/8');
    expect(formatCidr(parseCidr('0.0.0.0/0'))).toBe('0.0.0.0/0');
    expect(formatCidr(parseCidr('::/0'))).toBe('::/0');
    expect(formatCidr(parseCidr('fd00::/8'))).toBe('fd00::/8');
  });

  it('reads blocks inside ::ffff:0:0/96 as the IPv4 blocks they map', () => {
    expect(formatCidr(parseCidr('::ffff:0:0/96'))).toBe('0.0.0.0/0');
    expect(formatCidr(parseCidr('::ffff:10.0.0.0/104'))).toBe('10.0.0.0/8');
    expect(formatCidr(parseCidr('::ffff:127.0.0.1'))).toBe('127.0.0.1/32');
    // Shorter prefixes stay IPv6 blocks, and hold no IPv4 address though they cover ::ffff:0:0/96.
    const wider = parseCidr('::fffe:0:0/95');
    expect(wider.address.family).toBe(6);
    expect(cidrContains(wider, parseIpAddress('::ffff:10.0.0.1')!)).toBe(false);
    expect(cidrContains(wider, parseIpAddress('::fffe:1:2')!)).toBe(true);
  });

  it('is strict: no host bits past the prefix', () => {
    expect(errorOf(() => parseCidr('192.168.1.1/24'))).toBe(
      "'192.168.1.1/24' is not a valid CIDR block: the address has bits set past /24 (did you mean '192.168.1.0/24'?)",
    );
    expect(errorOf(() => parseCidr('10.0.0.1/8'))).toContain("did you mean '10.0.0.0/8'");
    expect(errorOf(() => parseCidr('::1/0'))).toContain("did you mean '::/0'");
    expect(errorOf(() => parseCidr('2001:db8::1/32'))).toContain("did you mean '2001:db8::/32'");
    expect(errorOf(() => parseCidr('::ffff:10.0.0.1/104'))).toContain(
      "did you mean '::ffff:10.0.0.0/104'",
    );
    expect(errorOf(() => parseCidr('0.0.0.1/0'))).toContain("did you mean '0.0.0.0/0'");
  });

  it('refuses bad prefix lengths and what is not an address', () => {
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/x', '10.0.0.0/-1']) {
      expect(
        errorOf(() => parseCidr(bad)),
        bad,
      ).toMatch(/has a bad prefix length/);
    }
    for (const bad of ['10.0.0.0/8/1', '10.0.0.0/+8', '10.0.0.0/08', '10.0.0.0/ 8']) {
      expect(
        errorOf(() => parseCidr(bad)),
        bad,
      ).toMatch(/bad prefix length/);
    }
    expect(errorOf(() => parseCidr('10.0.0.0/33'))).toBe(
      "'10.0.0.0/33' has a bad prefix length: an IPv4 block takes /0 to /32",
    );
    for (const bad of ['mx.example.com', '', '/8', '10.0.0/8', '[10.0.0.1]', 'fe80::%eth0/64']) {
      expect(
        errorOf(() => parseCidr(bad)),
        bad,
      ).toMatch(/is not an IP address or CIDR block/);
    }
  });

  it('tells whether a block contains an address, never across families', () => {
    const v4 = parseIpAddress('127.0.0.1')!;
    const v6 = parseIpAddress('::1')!;
    expect(cidrContains(parseCidr('0.0.0.0/0'), v4)).toBe(true);
    expect(cidrContains(parseCidr('0.0.0.0/0'), v6)).toBe(false);
    expect(cidrContains(parseCidr('::/0'), v6)).toBe(true);
    expect(cidrContains(parseCidr('::/0'), v4)).toBe(false);
    expect(cidrContains(parseCidr('127.0.0.0/8'), v4)).toBe(true);
    expect(cidrContains(parseCidr('128.0.0.0/1'), v4)).toBe(false);
    expect(cidrContains(parseCidr('255.255.255.255'), parseIpAddress('255.255.255.255')!)).toBe(
      true,
    );
  });
});

describe('CidrSet', () => {
  const set = (...entries: string[]) => new CidrSet(entries, 'relay_hosts');

  it('::/0 holds every IPv6 address and no IPv4 one, mapped peers included', () => {
    const any6 = set('::/0');
    for (const ip of ['::1', '2001:db8::1', '::', 'fe80::1%lo', '::127.0.0.1']) {
      expect(any6.contains(ip), ip).toBe(true);
    }
    for (const ip of ['127.0.0.1', '10.0.0.1', '0.0.0.0', '::ffff:127.0.0.1', '::ffff:7f00:1']) {
      expect(any6.contains(ip), ip).toBe(false);
    }
    expect(set('::/64').contains('::ffff:10.0.0.1')).toBe(false);
  });

  it('0.0.0.0/0 holds every IPv4 address, mapped peers included, and no IPv6 one', () => {
    const any4 = set('0.0.0.0/0');
    for (const ip of ['127.0.0.1', '255.255.255.255', '0.0.0.0', '::ffff:192.0.2.1']) {
      expect(any4.contains(ip), ip).toBe(true);
    }
    for (const ip of ['::1', '::', '2001:db8::1', '::192.0.2.1']) {
      expect(any4.contains(ip), ip).toBe(false);
    }
  });

  it('::ffff:0:0/96 is every IPv4 address; ::ffff:10.0.0.0/104 is 10.0.0.0/8', () => {
    const mapped = set('::ffff:0:0/96');
    expect(mapped.contains('127.0.0.1')).toBe(true);
    expect(mapped.contains('::ffff:127.0.0.1')).toBe(true);
    expect(mapped.contains('::1')).toBe(false);
    const ten = set('::ffff:10.0.0.0/104');
    expect(ten.contains('10.200.0.1')).toBe(true);
    expect(ten.contains('::ffff:10.200.0.1')).toBe(true);
    expect(ten.contains('11.0.0.1')).toBe(false);
  });

  it('IPv4-mapped peers match IPv4 entries; ::1 matches only ::1', () => {
    const defaults = set('127.0.0.1', '::1');
    expect(defaults.contains('::ffff:127.0.0.1')).toBe(true);
    expect(defaults.contains('::1')).toBe(true);
    expect(defaults.contains('127.0.0.2')).toBe(false);
    expect(defaults.contains('::2')).toBe(false);
    expect(set('::1').contains('127.0.0.1')).toBe(false);
    expect(set('::1').contains('0.0.0.1')).toBe(false);
    expect(set('127.0.0.1').contains('::1')).toBe(false);
  });

  it('names the list and the entry in errors', () => {
    expect(errorOf(() => set('127.0.0.1', '10.0.0.1/8'))).toBe(
      "relay_hosts: '10.0.0.1/8' is not a valid CIDR block: the address has bits set past /8 (did you mean '10.0.0.0/8'?)",
    );
    expect(errorOf(() => set('localhost'))).toBe(
      "relay_hosts: 'localhost' is not an IP address or CIDR block",
    );
    expect(errorOf(() => set('::/200'))).toMatch(/^relay_hosts: '::\/200' has a bad prefix length/);
  });

  it('cidrSet gives the predicate the listeners use; non-addresses never match', () => {
    const relay = cidrSet(['::/0'], 'relay_hosts');
    expect(relay('127.0.0.1')).toBe(false);
    expect(relay('::1')).toBe(true);
    expect(relay('')).toBe(false);
    expect(relay('not-an-ip')).toBe(false);
    expect(cidrSet([], 'trusted_hosts')('127.0.0.1')).toBe(false);
  });
});

describe('CidrMap', () => {
  it('returns the most specific block, whatever the order of insertion', () => {
    const map = new CidrMap<string>();
    map.set('10.1.0.0/16', 'ten-one').set('10.0.0.0/8', 'ten').set('10.1.2.3', 'host');
    map.set('0.0.0.0/0', 'any4').set('::/0', 'any6').set('2001:db8::/32', 'doc');
    expect(map.get('10.1.2.3')).toBe('host');
    expect(map.get('10.1.2.4')).toBe('ten-one');
    expect(map.get('10.2.0.1')).toBe('ten');
    expect(map.get('192.0.2.1')).toBe('any4');
    expect(map.get('::ffff:10.1.2.4')).toBe('ten-one');
    expect(map.get('2001:db8::1')).toBe('doc');
    expect(map.get('2001:db9::1')).toBe('any6');
    expect(map.get('nope')).toBeUndefined();
    expect(map.size).toBe(6);
  });

  it('keeps families apart: ::/0 never answers for IPv4', () => {
    const map = new CidrMap<string>().set('::/0', 'v6');
    expect(map.get('127.0.0.1')).toBeUndefined();
    expect(map.get('::ffff:127.0.0.1')).toBeUndefined();
    expect(map.get('::1')).toBe('v6');
    map.set('::ffff:0:0/96', 'v4');
    expect(map.get('127.0.0.1')).toBe('v4');
    expect(map.get('0.0.0.0/0')).toBeUndefined();
  });

  it('replaces the value of the same block, however it is written', () => {
    const map = new CidrMap<number>().set('10.0.0.0/8', 1).set('::ffff:10.0.0.0/104', 2);
    expect(map.size).toBe(1);
    expect(map.get('10.0.0.1')).toBe(2);
    map.set('2001:DB8::/32', 3).set('2001:db8:0::/32', 4);
    expect(map.size).toBe(2);
    expect(map.get('2001:db8::5')).toBe(4);
  });

  it('deletes exactly the block named, leaving the blocks around it', () => {
    const map = new CidrMap<string>()
      .set('10.0.0.0/8', 'ten')
      .set('10.1.0.0/16', 'ten-one')
      .set('fd00::/8', 'ula')
      .set('fd00:1::/32', 'ula-one');
    expect(map.delete('10.1.0.0/16')).toBe(true);
    expect(map.get('10.1.2.3')).toBe('ten');
    expect(map.delete('10.1.0.0/16')).toBe(false);
    expect(map.delete('10.0.0.0/9')).toBe(false);
    expect(map.get('10.1.2.3')).toBe('ten');
    expect(map.delete('fd00:1::/32')).toBe(true);
    expect(map.get('fd00:1::1')).toBe('ula');
    expect(map.delete('10.0.0.0/8')).toBe(true);
    expect(map.delete('fd00::/8')).toBe(true);
    expect(map.get('10.1.2.3')).toBeUndefined();
    expect(map.size).toBe(0);
    expect(() => map.delete('10.0.0.1/8')).toThrow(/did you mean '10.0.0.0\/8'/);
  });

  it('holds a stored undefined apart from a missing block', () => {
    const map = new CidrMap<string | undefined>().set('10.0.0.0/8', undefined);
    expect(map.contains('10.0.0.1')).toBe(true);
    expect(map.contains('11.0.0.1')).toBe(false);
  });
});
