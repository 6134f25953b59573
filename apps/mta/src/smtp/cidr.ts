import { BlockList, isIP } from 'node:net';

/**
 * A set of addresses and CIDR blocks (`127.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`), as
 * `relay_hosts` and `trusted_hosts` list them. IPv4-mapped IPv6 peers match their IPv4 form.
 *
 * @throws Error naming the entry that is neither an address nor a CIDR block.
 */
export function cidrSet(entries: readonly string[], what: string): (ip: string) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/');
    const family = isIP(address);
    if (family === 0) throw new Error(`${what}: '${entry}' is not an IP address or CIDR block`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(address, type);
    else {
      const prefix = Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
        throw new Error(`${what}: '${entry}' has a bad prefix length`);
      }
      list.addSubnet(address, prefix, type);
    }
  }
  return (ip) => {
    const plain = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
    const family = isIP(plain);
    return family !== 0 && list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  };
}
