import { isIP } from 'node:net';

interface Entry {
  readonly family: 4 | 6;
  readonly network: bigint;
  readonly prefix: number;
  value: unknown;
}

/** Parses an address as policies write it: plain, `[domain literal]`, `IPv6:…`, with `:port`. */
export function parseAddress(text: string): { family: 4 | 6; bits: bigint } | undefined {
  let t = text.trim();
  const bracket = /^\[(?:IPv6:)?([^\]]+)\](?::\d+)?$/i.exec(t);
  if (bracket) t = bracket[1]!;
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(t)) t = t.slice(0, t.lastIndexOf(':'));
  const family = isIP(t);
  if (family === 4) {
    return {
      family: 4,
      bits: t.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n),
    };
  }
  if (family !== 6) return undefined;
  // A trailing dotted quad (`::ffff:1.2.3.4`) stands for the last two groups.
  let body = t;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(body);
  if (v4) {
    const n = parseAddress(v4[1]!)!.bits;
    body = `${body.slice(0, -v4[1]!.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', rest] = body.split('::');
  const group = (g: string) => BigInt(Number.parseInt(g, 16));
  const h = head === '' ? [] : head.split(':').map(group);
  const r = rest === undefined || rest === '' ? [] : rest.split(':').map(group);
  const groups =
    rest === undefined ? h : [...h, ...Array<bigint>(8 - h.length - r.length).fill(0n), ...r];
  return { family: 6, bits: groups.reduce((acc, g) => (acc << 16n) | g, 0n) };
}

/**
 * `kumo.cidr.make_map`: values keyed by addresses and CIDR blocks; a look-up returns the value
 * of the most specific block containing the address.
 */
export class CidrMap {
  private readonly entries: Entry[] = [];

  set(key: string, value: unknown): void {
    const slash = key.indexOf('/');
    const address = parseAddress(slash < 0 ? key : key.slice(0, slash));
    if (!address) throw new Error(`'${key}' is not an IP address or CIDR block`);
    const width = address.family === 4 ? 32 : 128;
    const prefix = slash < 0 ? width : Number(key.slice(slash + 1));
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > width)
      throw new Error(`bad prefix length in '${key}'`);
    const shift = BigInt(width - prefix);
    const network = (address.bits >> shift) << shift;
    const existing = this.entries.find(
      (e) => e.family === address.family && e.prefix === prefix && e.network === network,
    );
    if (value === undefined || value === null) {
      if (existing) this.entries.splice(this.entries.indexOf(existing), 1);
    } else if (existing) existing.value = value;
    else this.entries.push({ family: address.family, network, prefix, value });
  }

  get(key: string): unknown {
    const address = parseAddress(key);
    if (!address) return undefined;
    const width = address.family === 4 ? 32 : 128;
    let best: Entry | undefined;
    for (const e of this.entries) {
      if (e.family !== address.family || (best && best.prefix >= e.prefix)) continue;
      const shift = BigInt(width - e.prefix);
      if ((address.bits >> shift) << shift === e.network) best = e;
    }
    return best?.value;
  }
}

/**
 * The host functions behind `kumo.cidr.make_map`: maps live here, by id, and are freed when the
 * Lua object is collected.
 */
export function cidrFunctions(toData: (v: unknown) => unknown, toLua: (v: unknown) => unknown) {
  const maps = new Map<number, CidrMap>();
  let next = 1;
  const get = (id: number) => {
    const map = maps.get(id);
    if (!map) throw 'this CIDR map was freed';
    return map;
  };
  return {
    cidr_new: () => {
      maps.set(next, new CidrMap());
      return next++;
    },
    cidr_get: (id: number, key: unknown) =>
      typeof key === 'string' ? toLua(get(id).get(key)) : undefined,
    cidr_set: (id: number, key: unknown, value: unknown) => {
      try {
        get(id).set(String(key), toData(value ?? undefined));
      } catch (error) {
        throw `kumo.cidr map: ${(error as Error).message ?? String(error)}`;
      }
    },
    cidr_free: (id: number) => {
      maps.delete(id);
    },
  };
}
