import { CidrSet, SternaError } from '@sterna/core';

/** A compiled list of CIDRs (`prohibited_hosts`, `skip_hosts`). */
export interface HostFilter {
  matches(address: string): boolean;
}

const cache = new WeakMap<readonly string[], HostFilter>();

/**
 * Compiles addresses and strict CIDR blocks into a filter on core's {@link CidrSet}: the
 * families stay apart, so `skip_hosts = { '::/0' }` drops the IPv6 addresses of an MX and keeps
 * its IPv4 ones, as KumoMTA documents. Lists are cached by identity, since an egress path is
 * built once and used for many connections.
 *
 * @param field the egress path field, for error messages
 * @throws SternaError `STERNA_SMTP_PATH_INVALID` naming the field and the entry that is not an
 *   address or a strict CIDR block (`10.0.0.1/8` is refused: its host bits are set).
 */
export function hostFilter(cidrs: readonly string[], field: string): HostFilter {
  const cached = cache.get(cidrs);
  if (cached) return cached;
  let set: CidrSet;
  try {
    set = new CidrSet(cidrs, `egress path ${field}`);
  } catch (error) {
    throw new SternaError('STERNA_SMTP_PATH_INVALID', (error as Error).message, { cause: error });
  }
  const filter: HostFilter = { matches: (address) => set.contains(address) };
  cache.set(cidrs, filter);
  return filter;
}
