import { isIP } from 'node:net';
import {
  type DeliveryFailure,
  type DriverContext,
  type EgressPathConfig,
  makeResponse,
  type PeerAddress,
} from '@sterna/core';
import { lookupAddresses } from './address-lookup.js';
import { hostFilter } from './host-filter.js';
import { formatAddr } from './host-spec.js';
import type { SmtpPlan } from './plan.js';

/** One address to try, in plan order. */
export interface Candidate {
  /** Logged as `peer_address.name`. */
  readonly name: string;
  readonly address: string;
  readonly port: number;
}

/** The peer of a candidate, as logged in `peer_address`: its name and `address:port`. */
export function peerOf(candidate: Candidate): PeerAddress {
  return { name: candidate.name, addr: formatAddr(candidate.address, candidate.port) };
}

/** The addresses to try, and why hosts that yielded none were dropped. */
export interface CandidateList {
  readonly candidates: Candidate[];
  readonly errors: string[];
}

function shuffled<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

function byStrategy(addresses: readonly string[], path: EgressPathConfig): string[] {
  const v4 = addresses.filter((a) => isIP(a) === 4);
  const v6 = addresses.filter((a) => isIP(a) === 6);
  switch (path.ip_lookup_strategy) {
    case 'Ipv4Only':
      return v4;
    case 'Ipv6Only':
      return v6;
    case 'Ipv6ThenIpv4':
      return [...v6, ...v4];
    default:
      return [...v4, ...v6];
  }
}

/**
 * Expands a site's plan into the ordered list of addresses to try, as KumoMTA's connection plan
 * does: groups in order, addresses shuffled within an MX preference level, `skip_hosts` dropped.
 * The port is the egress source's `remote_port`, else the entry's own, else `smtp_port`.
 * Any address in `prohibited_hosts` fails the whole site permanently (`550 5.4.4`), so that an
 * MX pointing at ourselves bounces instead of looping.
 *
 * @throws SternaError `STERNA_SMTP_PATH_INVALID` when a host list holds something not a CIDR.
 */
export async function planCandidates(
  plan: SmtpPlan,
  path: EgressPathConfig,
  ctx: DriverContext,
  remotePort?: number,
): Promise<CandidateList | DeliveryFailure> {
  const prohibited = hostFilter(path.prohibited_hosts, 'prohibited_hosts');
  const skip = hostFilter(path.skip_hosts, 'skip_hosts');
  const candidates: Candidate[] = [];
  const errors: string[] = [];
  for (const group of plan.groups) {
    const members: Candidate[] = [];
    for (const host of group.hosts) {
      let addresses: readonly string[] = host.addresses ?? [];
      if (host.resolve !== undefined) {
        const result = await lookupAddresses(ctx.resolver, host.resolve, path.ip_lookup_strategy);
        if (result.error) errors.push(`${host.name}: failed to resolve: ${result.error}`);
        addresses = result.addresses;
      } else {
        addresses = byStrategy(addresses, path);
      }
      const port = remotePort ?? host.port ?? path.smtp_port;
      for (const address of addresses) members.push({ name: host.name, address, port });
    }
    candidates.push(...(group.shuffle ? shuffled(members) : members));
  }
  const banned = candidates.find((c) => prohibited.matches(c.address));
  if (banned) {
    return {
      kind: 'permanent',
      response: makeResponse(
        550,
        `5.4.4 KumoMTA internal: ${banned.name} (${banned.address}) is on the list of prohibited_hosts ${JSON.stringify(path.prohibited_hosts)}`,
      ),
    };
  }
  const usable = candidates.filter((c) => !skip.matches(c.address));
  if (usable.length < candidates.length && usable.length === 0) {
    errors.push('every address is in skip_hosts');
  }
  return { candidates: usable, errors };
}
