import { CidrSet } from '@sterna/core';
import type { ClientTraceRequest, ServerTraceRequest } from './types.js';

/** Decides, from an event's `conn_meta`, whether a subscriber sees it. */
export type TraceFilter = (meta: Readonly<Record<string, unknown>>) => boolean;

/** The IP of an `ip:port` or `[ip]:port` as the connection meta writes addresses. */
export function ipOf(address: unknown): string | undefined {
  if (typeof address !== 'string' || address === '') return undefined;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) return bracketed[1];
  const colons = address.split(':').length - 1;
  // One colon: IPv4 with a port; none, or several without brackets: a bare address.
  return colons === 1 ? address.slice(0, address.indexOf(':')) : address;
}

/**
 * A CIDR list from a request (`source_addr`, `mx_addr`), or undefined when empty.
 * @throws Error naming the field and the bad entry.
 */
function cidrs(entries: readonly string[], field: string): CidrSet | undefined {
  if (entries.length === 0) return undefined;
  try {
    return new CidrSet(entries, field);
  } catch (error) {
    throw new Error(`${field}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * The server trace's filter: sessions from a `source_addr` block (all when none is given).
 * @throws Error for an entry that is not an address or CIDR block.
 */
export function serverFilter(request: ServerTraceRequest): TraceFilter {
  const sources = cidrs(request.source_addr, 'source_addr');
  if (!sources) return () => true;
  return (meta) => {
    const ip = ipOf(meta.received_from);
    return ip !== undefined && sources.contains(ip);
  };
}

const LISTS = [
  'campaign',
  'tenant',
  'domain',
  'routing_domain',
  'egress_pool',
  'egress_source',
  'mail_from',
  'rcpt_to',
  'mx_host',
  'ready_queue',
] as const;

function listMatches(allowed: readonly string[], value: unknown): boolean {
  const wanted = (one: unknown) =>
    typeof one === 'string' && allowed.some((a) => a.toLowerCase() === one.toLowerCase());
  return Array.isArray(value) ? value.some(wanted) : wanted(value);
}

/**
 * The client trace's filter, as KumoMTA's: each list given is an allow-list for one session
 * property, applied once the session has that property (a message's domain only once a
 * message is in hand), so early events of a session pass until it is known.
 * @throws Error for a `source_addr` or `mx_addr` entry that is not an address or CIDR block.
 */
export function clientFilter(request: ClientTraceRequest): TraceFilter {
  const lists = LISTS.filter((key) => request[key].length > 0).map(
    (key) => [key, request[key]] as const,
  );
  const sources = cidrs(request.source_addr, 'source_addr');
  const mxAddrs = cidrs(request.mx_addr, 'mx_addr');
  return (meta) => {
    for (const [key, allowed] of lists) {
      const value = meta[key];
      if (value !== undefined && value !== null && !listMatches(allowed, value)) return false;
    }
    const source = ipOf(meta.source_address);
    if (sources && source !== undefined && !sources.contains(source)) return false;
    const mx = ipOf(meta.mx_addr);
    if (mxAddrs && mx !== undefined && !mxAddrs.contains(mx)) return false;
    return true;
  };
}
