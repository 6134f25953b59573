import { isIP } from 'node:net';

/** A destination host as written in `mx_list` or as a domain literal. */
export interface HostSpec {
  /** The host without its port: a name, or an IP address without brackets. */
  readonly host: string;
  /** True when `host` is an IP address (no DNS look-up). */
  readonly isAddress: boolean;
  /** The port written with the host, when any. */
  readonly port?: number | undefined;
  /** What is logged as `peer_address.name`: the entry as written, without its port. */
  readonly name: string;
}

// A DNS host name: labels of letters, digits, '-' and '_' (some MX names carry one), optional root dot.
const HOST_NAME =
  /^(?=.{1,254}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65_535 ? port : undefined;
}

/**
 * Parses a domain literal (`[10.0.0.1]`, `[IPv6:::1]`, RFC 5321 §4.1.3) into the bare address,
 * or undefined when the text is not one.
 */
export function parseDomainLiteral(text: string): string | undefined {
  if (!text.startsWith('[') || !text.endsWith(']')) return undefined;
  let inner = text.slice(1, -1);
  if (/^ipv6:/i.test(inner)) {
    inner = inner.slice(5);
    return isIP(inner) === 6 ? inner : undefined;
  }
  // KumoMTA also accepts a bracketed IPv6 address without the `IPv6:` tag.
  return isIP(inner) !== 0 ? inner : undefined;
}

/**
 * Parses an address as written in an `mx_list` table's `addr`, or in a string entry that is an
 * address: `10.0.0.1`, `::1`, `[10.0.0.1]`, `[IPv6:::1]`, `10.0.0.1:2025`, `[::1]:2025`.
 */
export function parseAddressSpec(text: string): { host: string; port?: number } | undefined {
  const trimmed = text.trim();
  if (isIP(trimmed) !== 0) return { host: trimmed };
  const literal = parseDomainLiteral(trimmed);
  if (literal) return { host: literal };
  const bracketed = /^(\[[^\]]+\]):(\d+)$/.exec(trimmed);
  if (bracketed) {
    const host = parseDomainLiteral(bracketed[1]!);
    const port = parsePort(bracketed[2]!);
    return host && port ? { host, port } : undefined;
  }
  const v4port = /^([0-9.]+):(\d+)$/.exec(trimmed);
  if (v4port && isIP(v4port[1]!) === 4) {
    const port = parsePort(v4port[2]!);
    return port ? { host: v4port[1]!, port } : undefined;
  }
  return undefined;
}

/**
 * Parses a string `mx_list` entry: an address form (see {@link parseAddressSpec}), a host name,
 * or `host:port`. Returns a reason when the entry cannot be used.
 */
export function parseHostSpec(text: string): HostSpec | { error: string } {
  const trimmed = text.trim();
  if (trimmed.startsWith('/')) {
    return { error: 'unix socket paths are not supported; use a host name or an address' };
  }
  const address = parseAddressSpec(trimmed);
  if (address) {
    const name = trimmed.replace(/:\d+$/, '');
    return {
      host: address.host,
      isAddress: true,
      port: address.port,
      name: isIP(trimmed) === 6 ? trimmed : name,
    };
  }
  if (trimmed.startsWith('[')) return { error: `'${text}' is not a valid address literal` };
  const withPort = /^(.+):(\d+)$/.exec(trimmed);
  const host = withPort ? withPort[1]! : trimmed;
  const port = withPort ? parsePort(withPort[2]!) : undefined;
  if (withPort && port === undefined) return { error: `'${withPort[2]}' is not a port (1-65535)` };
  if (!HOST_NAME.test(host)) {
    return { error: `'${text}' is not a host name, an address, host:port or [address]:port` };
  }
  const name = host.replace(/\.$/, '').toLowerCase();
  return { host: name, isAddress: false, port, name };
}

/** Formats an address and port the way `peer_address.addr` shows it (`10.0.0.1:2025`, `[::1]:25`). */
export function formatAddr(address: string, port: number): string {
  return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}
