import { isIP } from 'node:net';

/**
 * An IP address as numbers: IPv4 as one unsigned 32-bit `value`, IPv6 as four unsigned 32-bit
 * `words`, most significant first. IPv4 stays on plain numbers, so a look-up never needs BigInt.
 */
export type IpAddress =
  | { readonly family: 4; readonly value: number }
  | { readonly family: 6; readonly words: readonly [number, number, number, number] };

/** A CIDR block: a network address (its host bits all zero) and a prefix length. */
export interface CidrBlock {
  readonly address: IpAddress;
  /** 0–32 for IPv4, 0–128 for IPv6. */
  readonly prefix: number;
}

/** Options for {@link parseIpAddress}. */
export interface ParseIpOptions {
  /**
   * Also accept the forms policies write peers in: a domain literal (`[10.0.0.1]`,
   * `[IPv6:::1]`, `[::1]`), optionally followed by `:port`, and `a.b.c.d:port`.
   * @default false
   */
  readonly literal?: boolean;
}

const MASKS: readonly number[] = Array.from({ length: 33 }, (_, bits) =>
  bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0,
);

/** The netmask of the 32-bit word `index` (0 = most significant) under `prefix`. */
export function wordMask(prefix: number, index: number): number {
  return MASKS[Math.max(0, Math.min(32, prefix - 32 * index))]!;
}

/** Dotted-quad IPv4, strict as Node's `isIP` (no leading zeros, four octets ≤ 255). */
function parseIpv4(text: string): number | undefined {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return undefined;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return undefined;
      octet = octet * 10 + (c - 48);
      digits++;
      if (octet > 255) return undefined;
    } else {
      return undefined;
    }
  }
  return dots === 3 && digits > 0 ? value * 256 + octet : undefined;
}

/** IPv6 text (already checked by `isIP`, no zone) as eight 16-bit groups. */
function ipv6Groups(text: string): number[] {
  let body = text;
  const low: number[] = [];
  const lastColon = body.lastIndexOf(':');
  if (body.includes('.', lastColon)) {
    // A trailing dotted quad stands for the last two groups.
    const v4 = parseIpv4(body.slice(lastColon + 1)) ?? 0;
    low.push(v4 >>> 16, v4 & 0xffff);
    body = body.slice(0, body.endsWith('::', lastColon + 1) ? lastColon + 1 : lastColon);
  }
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const gap = body.indexOf('::');
  if (gap < 0) return [...groups(body), ...low];
  const head = groups(body.slice(0, gap));
  const tail = [...groups(body.slice(gap + 2)), ...low];
  return [...head, ...Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** The address as written: no mapping of `::ffff:a.b.c.d` to IPv4. */
function parseWritten(text: string): IpAddress | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  if (isIP(text) !== 6 || text.includes('%')) return undefined;
  const g = ipv6Groups(text);
  const word = (i: number) => ((g[2 * i]! << 16) | g[2 * i + 1]!) >>> 0;
  return { family: 6, words: [word(0), word(1), word(2), word(3)] };
}

/** True for `::ffff:0:0/96`, the IPv4-mapped IPv6 addresses. */
function isMapped(words: readonly number[]): boolean {
  return words[0] === 0 && words[1] === 0 && words[2] === 0xffff;
}

/** An IPv4-mapped IPv6 address is the IPv4 address it carries. */
function unmapped(address: IpAddress): IpAddress {
  return address.family === 6 && isMapped(address.words)
    ? { family: 4, value: address.words[3] }
    : address;
}

/** Strips `[…]`, `[IPv6:…]`, `[…]:port` and `a.b.c.d:port` down to the address text. */
function literalBody(text: string): string {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || !/^(?::\d{1,5})?$/.test(text.slice(close + 1))) return '';
    const inner = text.slice(1, close);
    return /^ipv6:/i.test(inner) ? inner.slice(5) : inner;
  }
  const port = /^(\d+\.\d+\.\d+\.\d+):\d{1,5}$/.exec(text);
  return port ? port[1]! : text;
}

/**
 * Parses an IP address. An IPv6 zone (`fe80::1%eth0`) is ignored, and an IPv4-mapped IPv6
 * address (`::ffff:127.0.0.1`, as a dual-stack socket reports an IPv4 peer) is returned as the
 * IPv4 address it carries, so that it matches IPv4 rules and never IPv6 ones.
 *
 * @returns the address, or `undefined` for text that is not one
 */
export function parseIpAddress(text: string, options?: ParseIpOptions): IpAddress | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  // How a dual-stack socket reports every IPv4 peer: read without the IPv6 parser.
  if (text.length > 7 && /^::ffff:/i.test(text)) {
    const mapped = parseIpv4(text.slice(7));
    if (mapped !== undefined) return { family: 4, value: mapped };
  }
  let body = options?.literal ? literalBody(text.trim()) : text;
  const zone = body.indexOf('%');
  if (zone >= 0) body = body.slice(0, zone);
  const parsed = parseWritten(body);
  return parsed && unmapped(parsed);
}

/**
 * Parses a rule entry: an address (a one-address block) or `address/prefix`. The notation is
 * strict, as KumoMTA's: `192.168.1.0/24` is a block, `192.168.1.1/24` an error, since its host
 * bits are not zero. An IPv6 entry inside `::ffff:0:0/96` (written `::ffff:a.b.c.d/n`, n ≥ 96) is
 * the IPv4 block it maps: `::ffff:10.0.0.0/104` is `10.0.0.0/8`, and `::ffff:0:0/96` every IPv4
 * address. Other IPv6 blocks never contain an IPv4 address: not `::/0`, not `::/64`.
 *
 * @throws Error whose message quotes the entry: not an address, a bad prefix length, or host
 *   bits set (with the block that was probably meant)
 */
export function parseCidr(text: string): CidrBlock {
  const entry = text.trim();
  const slash = entry.indexOf('/');
  const written = parseWritten(slash < 0 ? entry : entry.slice(0, slash));
  if (!written) throw new Error(`'${text}' is not an IP address or CIDR block`);
  const width = written.family === 4 ? 32 : 128;
  const bits = slash < 0 ? String(width) : entry.slice(slash + 1);
  const prefix = Number(bits);
  if (!/^(?:0|[1-9]\d{0,2})$/.test(bits) || prefix > width) {
    const family = written.family === 4 ? 'an IPv4' : 'an IPv6';
    throw new Error(`'${text}' has a bad prefix length: ${family} block takes /0 to /${width}`);
  }
  const network = masked(written, prefix);
  if (!sameAddress(network, written)) {
    const meant = formatCidr({ address: network, prefix });
    throw new Error(
      `'${text}' is not a valid CIDR block: the address has bits set past /${prefix} (did you mean '${meant}'?)`,
    );
  }
  if (network.family === 6 && prefix >= 96 && isMapped(network.words)) {
    return { address: { family: 4, value: network.words[3] }, prefix: prefix - 96 };
  }
  return { address: network, prefix };
}

/** `address` with every bit past `prefix` cleared. */
function masked(address: IpAddress, prefix: number): IpAddress {
  if (address.family === 4) return { family: 4, value: (address.value & MASKS[prefix]!) >>> 0 };
  const w = address.words;
  const m = (i: number) => (w[i]! & wordMask(prefix, i)) >>> 0;
  return { family: 6, words: [m(0), m(1), m(2), m(3)] };
}

function sameAddress(a: IpAddress, b: IpAddress): boolean {
  if (a.family === 4) return b.family === 4 && a.value === b.value;
  return b.family === 6 && a.words.every((w, i) => w === b.words[i]);
}

/**
 * True when `block` contains `address`. Families never mix: an IPv4 address is in no IPv6
 * block (map an IPv4-mapped address with {@link parseIpAddress} first).
 */
export function cidrContains(block: CidrBlock, address: IpAddress): boolean {
  const net = block.address;
  if (net.family === 4) {
    return address.family === 4 && ((address.value ^ net.value) & MASKS[block.prefix]!) === 0;
  }
  if (address.family !== 6) return false;
  for (let i = 0; i < 4; i++) {
    if (((address.words[i]! ^ net.words[i]!) & wordMask(block.prefix, i)) !== 0) return false;
  }
  return true;
}

/**
 * Formats an address: dotted quad, or IPv6 as RFC 5952 writes it (lower case, the longest run
 * of zero groups as `::`, an IPv4-mapped address as `::ffff:a.b.c.d`).
 */
export function formatIpAddress(address: IpAddress): string {
  const quad = (n: number) => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  if (address.family === 4) return quad(address.value);
  const w = address.words;
  if (isMapped(w)) return `::ffff:${quad(w[3])}`;
  const g = w.flatMap((word) => [word >>> 16, word & 0xffff]);
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (part: number[]) => part.map((n) => n.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLength))}`;
}

/** Formats a block as `address/prefix`. */
export function formatCidr(block: CidrBlock): string {
  return `${formatIpAddress(block.address)}/${block.prefix}`;
}
