import { type CidrBlock, CidrMap, parseCidr, parseIpAddress } from '@sterna/core/engine';
import type { ContextImplementations } from '../host/host-calls.js';

/**
 * A key as policies write it: a strict CIDR block or address (`10.0.0.0/8`, `::1`), or, as
 * KumoMTA's map also reads, an address as a domain literal or with a port (`[10.0.0.1]`,
 * `127.0.0.1:25`, `[IPv6:::1]:25`).
 *
 * @throws Error from {@link parseCidr} when it is neither
 */
function blockOf(key: string): CidrBlock {
  try {
    return parseCidr(key);
  } catch (error) {
    const address = key.includes('/') ? undefined : parseIpAddress(key, { literal: true });
    if (!address) throw error;
    return { address, prefix: address.family === 4 ? 32 : 128 };
  }
}

/**
 * The host functions behind `kumo.cidr.make_map`, on core's {@link CidrMap}: the most specific
 * block wins, IPv4 and IPv6 stay apart (`::/0` answers no IPv4 address; an IPv4-mapped address
 * is its IPv4 address), assigning nil removes that exact block, and a key that is not an
 * address reads as nil. Maps live here, by id, and are freed when the Lua object is collected.
 */
export function cidrFunctions(toData: (v: unknown) => unknown, toLua: (v: unknown) => unknown) {
  const maps = new Map<number, CidrMap<unknown>>();
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
    cidr_get: (id: number, key: unknown) => {
      const address = typeof key === 'string' ? parseIpAddress(key, { literal: true }) : undefined;
      return address ? toLua(get(id).get(address)) : undefined;
    },
    cidr_set: (id: number, key: unknown, value: unknown) => {
      const map = get(id);
      try {
        const block = blockOf(String(key));
        const data = toData(value ?? undefined);
        if (data === undefined || data === null) map.delete(block);
        else map.set(block, data);
      } catch (error) {
        throw `kumo.cidr map: ${(error as Error).message ?? String(error)}`;
      }
    },
    cidr_free: (id: number) => {
      maps.delete(id);
    },
  } satisfies Partial<ContextImplementations>;
}
