import type { MetaValue } from '@sterna/core';
import { setOwn } from '../shared/own-key.js';

/**
 * A copy of `value` as metadata can hold it (what a Lua table can: strings, finite numbers,
 * booleans, arrays and plain objects), so a later change to the policy's object does not
 * reach the message behind its back and the daemon gets plain data.
 * @throws TypeError naming `what` and the path of the first value that is not data
 */
export function plainData(value: unknown, what: string, path = ''): MetaValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value)) return value;
      break;
    case 'object': {
      if (value === null) break;
      if (Array.isArray(value)) {
        return value.map((v, i) => plainData(v, what, `${path}[${i}]`));
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) break;
      const out: Record<string, MetaValue> = {};
      for (const [k, v] of Object.entries(value)) {
        if (v === undefined) continue;
        setOwn(out, k, plainData(v, what, path === '' ? k : `${path}.${k}`));
      }
      return out;
    }
    default:
      break;
  }
  const at = path === '' ? '' : ` at ${path}`;
  throw new TypeError(`${what}: ${describe(value)}${at} is not data a message can hold`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'object') return `a ${value.constructor?.name ?? 'class'} instance`;
  return `a ${typeof value}`;
}

/** A deep copy of data read out of a message (the caller may change it freely). */
export function copyOut<T>(value: T): T {
  return typeof value === 'object' && value !== null ? structuredClone(value) : value;
}
