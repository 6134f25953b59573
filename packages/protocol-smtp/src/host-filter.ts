import { BlockList, isIP } from 'node:net';
import { SternaError } from '@sterna/core';

/** A compiled list of CIDRs (`prohibited_hosts`, `skip_hosts`). */
export interface HostFilter {
  matches(address: string): boolean;
}

const cache = new WeakMap<readonly string[], HostFilter>();

/**
 * Compiles CIDRs and bare addresses into a filter backed by `net.BlockList`. Lists are cached
 * by identity, since an egress path is built once and used for many connections.
 *
 * @param field the egress path field, for error messages
 * @throws SternaError `STERNA_SMTP_PATH_INVALID` for an entry that is neither an address nor a CIDR.
 */
export function hostFilter(cidrs: readonly string[], field: string): HostFilter {
  const cached = cache.get(cidrs);
  if (cached) return cached;
  // One list per family: node's BlockList lets an IPv6 rule such as `::/0` match IPv4 addresses
  // (as mapped addresses), while KumoMTA policies write `skip_hosts = { '::/0' }` to mean IPv6 only.
  const v4 = new BlockList();
  const v6 = new BlockList();
  for (const entry of cidrs) {
    const [address = '', prefix, extra] = entry.trim().split('/');
    const family = isIP(address);
    const bits = prefix === undefined ? undefined : Number(prefix);
    const max = family === 4 ? 32 : 128;
    if (
      family === 0 ||
      extra !== undefined ||
      (bits !== undefined && (!/^\d+$/.test(prefix!) || bits > max))
    ) {
      throw new SternaError(
        'STERNA_SMTP_PATH_INVALID',
        `egress path ${field}: '${entry}' is not an IP address or CIDR (like '10.0.0.0/8' or '::1')`,
      );
    }
    const list = family === 4 ? v4 : v6;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, bits, type);
  }
  const filter: HostFilter = {
    matches(address) {
      const family = isIP(address);
      if (family === 0) return false;
      if (family === 4) return v4.check(address, 'ipv4');
      if (v6.check(address, 'ipv6')) return true;
      // An IPv4-mapped IPv6 address is the IPv4 host it names.
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
      return mapped ? v4.check(mapped[1]!, 'ipv4') : false;
    },
  };
  cache.set(cidrs, filter);
  return filter;
}
