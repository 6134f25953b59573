import type { DnsResolver, IpLookupStrategy } from '@sterna/core';

/** Why a name has no address: `NXDOMAIN`, `no A/AAAA records`, or the resolver's error code. */
export interface LookupResult {
  readonly addresses: string[];
  readonly error?: string | undefined;
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : String(error);
}

// NODATA and NXDOMAIN mean "no addresses"; anything else (a timeout, SERVFAIL) is an error.
async function family(
  lookup: (name: string) => Promise<string[]>,
  name: string,
): Promise<LookupResult> {
  try {
    return { addresses: await lookup(name) };
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENODATA') return { addresses: [] };
    return { addresses: [], error: code === 'ENOTFOUND' ? 'NXDOMAIN' : code };
  }
}

/**
 * Resolves a host name to addresses as KumoMTA's `ip_lookup_strategy` says: both families in
 * parallel (`Ipv4AndIpv6`, IPv4 first in the list), one family only, or one family first.
 */
export async function lookupAddresses(
  resolver: DnsResolver,
  name: string,
  strategy: IpLookupStrategy = 'Ipv4AndIpv6',
): Promise<LookupResult> {
  const want4 = strategy !== 'Ipv6Only';
  const want6 = strategy !== 'Ipv4Only';
  const [v4, v6] = await Promise.all([
    want4
      ? family((n) => resolver.resolve4(n), name)
      : Promise.resolve<LookupResult>({ addresses: [] }),
    want6
      ? family((n) => resolver.resolve6(n), name)
      : Promise.resolve<LookupResult>({ addresses: [] }),
  ]);
  const addresses =
    strategy === 'Ipv6ThenIpv4'
      ? [...v6.addresses, ...v4.addresses]
      : [...v4.addresses, ...v6.addresses];
  if (addresses.length > 0) return { addresses };
  return { addresses, error: v4.error ?? v6.error ?? 'no A/AAAA records' };
}
