import type { DnsResolver, MxRecord } from '@sterna/core';

/**
 * The table `kumo.dns.lookup_mx(domain)` returns, from the daemon's resolver: `hosts` in
 * preference order (ties by name), `by_pref` grouping them, and no MX falling back to the
 * domain itself (RFC 5321 implicit MX). NXDOMAIN raises.
 */
export async function lookupMxTable(resolver: DnsResolver, domain: string) {
  let records: MxRecord[];
  let isMx = true;
  try {
    records = await resolver.resolveMx(domain);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENODATA') throw error;
    records = [{ exchange: domain, priority: 0 }];
    isMx = false;
  }
  return mxTableOf(domain, records, isMx);
}

/**
 * The table `kumo.dns.lookup_mx` returns for `records` (MX answers, or the implicit MX when
 * `isMx` is false): hosts by preference then name, lower case, grouped in `by_pref`.
 */
export function mxTableOf(domain: string, records: readonly MxRecord[], isMx: boolean) {
  const sorted = [...records].sort(
    (a, b) => a.priority - b.priority || a.exchange.localeCompare(b.exchange),
  );
  const byPref: Record<string, string[]> = {};
  for (const r of sorted) {
    const key = String(r.priority);
    byPref[key] = [...(byPref[key] ?? []), r.exchange.toLowerCase()];
  }
  const hosts = sorted.map((r) => r.exchange.toLowerCase());
  return {
    domain_name: `${domain.toLowerCase().replace(/\.$/, '')}.`,
    site_name: hosts.join(','),
    hosts,
    by_pref: byPref,
    is_mx: isMx,
    is_secure: false,
    is_domain_literal: false,
  };
}

/** Every A and AAAA address of `name`. */
export async function lookupAddresses(resolver: DnsResolver, name: string): Promise<string[]> {
  const settled = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
  const found = settled.flatMap((s) => (s.status === 'fulfilled' ? s.value : []));
  if (found.length === 0 && settled[0].status === 'rejected') throw settled[0].reason;
  return found;
}
