/**
 * The config tables the helpers build, checked by `@sterna/policy`'s builders (as `kumo.make_*`
 * checks them: KumoMTA's keys, an unknown key an error naming it) and returned as given, which
 * the daemon parses exactly as a Lua table.
 * @module
 */
import { makeEgressPath, makeEgressPool, makeEgressSource, makeQueueConfig } from '../builders.js';
import { reason, type Table } from './support.js';

const MAKERS = { makeQueueConfig, makeEgressPath, makeEgressPool, makeEgressSource } as const;

/** The builders the helpers use. */
export type Maker = keyof typeof MAKERS;

/**
 * Checks `params` as `maker` does and returns them as given. The data comes from files, so its
 * shape is only known once checked.
 *
 * @throws SternaError `STERNA_LUA_CONFIG_INVALID` naming the maker and the bad key.
 */
export function make<T extends Table>(maker: Maker, params: T): T {
  (MAKERS[maker] as (params: unknown) => unknown)(params);
  return params;
}

/**
 * Checks one key of an entry with `maker`, alone or with `base` (the keys the maker requires,
 * such as a source's `name`): `undefined` when it is accepted, else the reason, without the
 * key's name (the key path gives it).
 */
export function checkKey(
  maker: Maker,
  key: string,
  value: unknown,
  base: Table = {},
): string | undefined {
  try {
    make(maker, { ...base, [key]: value });
    return undefined;
  } catch (error) {
    const why = reason(error);
    const bare = why.slice(key.length + 2);
    if (why.startsWith(`${key}: `) && bare !== '') return bare;
    return why;
  }
}
