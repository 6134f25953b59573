/**
 * The config tables the helpers build, checked as `kumo.make_*` (and the builders of
 * `@sterna/policy`) check them: KumoMTA's keys, an unknown key an error naming it. What a
 * handler returns is the table as given, which the daemon parses exactly as a Lua table.
 * @module
 */
import {
  egressPathSchema,
  egressPoolSchema,
  egressSourceSchema,
  parseWith,
  queueConfigSchema,
} from '@sterna/lua';
import { reason, type Table } from './support.js';

const SCHEMAS = {
  makeQueueConfig: queueConfigSchema,
  makeEgressPath: egressPathSchema,
  makeEgressPool: egressPoolSchema,
  makeEgressSource: egressSourceSchema,
} as const;

/** The builders the helpers use, by their `@sterna/policy` names. */
export type Maker = keyof typeof SCHEMAS;

/**
 * Checks `params` as `maker` does and returns them as given.
 *
 * @throws SternaError `STERNA_LUA_CONFIG_INVALID` naming the maker and the bad key.
 */
export function make<T extends Table>(maker: Maker, params: T): T {
  parseWith(SCHEMAS[maker], params, maker);
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
