import { type CidrBlock, type IpAddress, parseCidr, parseIpAddress, wordMask } from './cidr.js';

/** One family's blocks: prefix length → network → value, and the prefix lengths longest first. */
class FamilyTable<K, V> {
  readonly byPrefix = new Map<number, Map<K, V>>();
  prefixes: number[] = [];

  set(prefix: number, key: K, value: V): void {
    let table = this.byPrefix.get(prefix);
    if (!table) {
      table = new Map();
      this.byPrefix.set(prefix, table);
      this.prefixes = [...this.byPrefix.keys()].sort((a, b) => b - a);
    }
    table.set(key, value);
  }

  delete(prefix: number, key: K): boolean {
    const table = this.byPrefix.get(prefix);
    if (!table?.delete(key)) return false;
    if (table.size === 0) {
      this.byPrefix.delete(prefix);
      this.prefixes = this.prefixes.filter((p) => p !== prefix);
    }
    return true;
  }
}

const v4Mask = (prefix: number) => wordMask(prefix, 0);

function v6Key(words: readonly number[], prefix: number): string {
  return `${(words[0]! & wordMask(prefix, 0)) >>> 0},${(words[1]! & wordMask(prefix, 1)) >>> 0},${
    (words[2]! & wordMask(prefix, 2)) >>> 0
  },${(words[3]! & wordMask(prefix, 3)) >>> 0}`;
}

/** A value in a map's table, boxed so that a look-up tells "absent" from a stored `undefined`. */
interface Slot<V> {
  value: V;
}

/**
 * Values keyed by CIDR blocks (`kumo.cidr.make_map`): a look-up returns the value of the most
 * specific block containing the address, whatever order the blocks were set in. IPv4 and IPv6
 * are kept apart (see {@link parseCidr} and {@link parseIpAddress}): `::/0` holds no IPv4
 * address, and an IPv4-mapped peer is looked up as its IPv4 address. IPv4 look-ups work on
 * plain numbers, one hash look-up per distinct prefix length in the map.
 */
export class CidrMap<V> {
  readonly #v4 = new FamilyTable<number, Slot<V>>();
  readonly #v6 = new FamilyTable<string, Slot<V>>();
  #size = 0;

  /** How many blocks the map holds. */
  get size(): number {
    return this.#size;
  }

  /**
   * Maps `block` (an entry as {@link parseCidr} reads it, or a parsed block) to `value`,
   * replacing the value of that same block.
   *
   * @throws Error for an entry that is not a strict CIDR block (see {@link parseCidr})
   */
  set(block: string | CidrBlock, value: V): this {
    const { address, prefix } = typeof block === 'string' ? parseCidr(block) : block;
    const slot =
      address.family === 4
        ? this.#v4.byPrefix.get(prefix)?.get(address.value)
        : this.#v6.byPrefix.get(prefix)?.get(v6Key(address.words, prefix));
    if (slot) {
      slot.value = value;
      return this;
    }
    if (address.family === 4) this.#v4.set(prefix, address.value, { value });
    else this.#v6.set(prefix, v6Key(address.words, prefix), { value });
    this.#size++;
    return this;
  }

  /**
   * Removes exactly `block` (not the blocks inside it).
   *
   * @returns whether the block was in the map
   * @throws Error for an entry that is not a strict CIDR block
   */
  delete(block: string | CidrBlock): boolean {
    const { address, prefix } = typeof block === 'string' ? parseCidr(block) : block;
    const removed =
      address.family === 4
        ? this.#v4.delete(prefix, address.value)
        : this.#v6.delete(prefix, v6Key(address.words, prefix));
    if (removed) this.#size--;
    return removed;
  }

  /**
   * The value of the most specific block containing `address` (a plain address, parsed as
   * {@link parseIpAddress} does, or a parsed one); `undefined` when none does or `address` is
   * not an IP address.
   */
  get(address: string | IpAddress): V | undefined {
    return this.#find(address)?.value;
  }

  /** Whether some block contains `address`. */
  contains(address: string | IpAddress): boolean {
    return this.#find(address) !== undefined;
  }

  #find(address: string | IpAddress): Slot<V> | undefined {
    const a = typeof address === 'string' ? parseIpAddress(address) : address;
    if (!a) return undefined;
    if (a.family === 4) {
      for (const prefix of this.#v4.prefixes) {
        const slot = this.#v4.byPrefix.get(prefix)!.get((a.value & v4Mask(prefix)) >>> 0);
        if (slot) return slot;
      }
      return undefined;
    }
    for (const prefix of this.#v6.prefixes) {
      const slot = this.#v6.byPrefix.get(prefix)!.get(v6Key(a.words, prefix));
      if (slot) return slot;
    }
    return undefined;
  }
}

/**
 * A set of addresses and CIDR blocks (`relay_hosts`, `trusted_hosts`, `prohibited_hosts`,
 * `skip_hosts`), with the families kept apart as {@link CidrMap} keeps them.
 */
export class CidrSet {
  readonly #map = new CidrMap<true>();

  /**
   * @param entries addresses and strict CIDR blocks (`127.0.0.1`, `10.0.0.0/8`, `fd00::/8`)
   * @param what the list's name, put before the entry in errors (`relay_hosts: '10.0.0.1/8' …`)
   * @throws Error naming the list and the first entry that is not a strict CIDR block
   */
  constructor(entries: Iterable<string> = [], what = 'CIDR list') {
    for (const entry of entries) {
      try {
        this.#map.set(entry, true);
      } catch (error) {
        throw new Error(`${what}: ${(error as Error).message}`);
      }
    }
  }

  /** How many distinct blocks the set holds. */
  get size(): number {
    return this.#map.size;
  }

  /** Whether `address` (a plain address, or IPv4-mapped IPv6) is in one of the blocks. */
  contains(address: string | IpAddress): boolean {
    return this.#map.contains(address);
  }
}

/**
 * Compiles `entries` into a predicate over peer addresses, as the listeners check `relay_hosts`
 * and `trusted_hosts`: `cidrSet(['::/0'], 'relay_hosts')('127.0.0.1')` is false.
 *
 * @throws Error naming `what` and the first entry that is not a strict CIDR block
 */
export function cidrSet(entries: Iterable<string>, what: string): (address: string) => boolean {
  const set = new CidrSet(entries, what);
  return (address) => set.contains(address);
}
