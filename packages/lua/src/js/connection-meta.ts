import { setOwn } from '../shared/own-key.js';
import type { ConnectionMeta } from './api-types.js';

/**
 * KumoMTA's connection metadata object for TypeScript policies: the meta of the SMTP
 * connection, with `getMeta` and `setMeta`. A `setMeta` marks it changed, and the call hands
 * the whole meta back to the daemon, which keeps it for the connection's later events.
 */
class ConnMeta implements ConnectionMeta {
  readonly #values: Record<string, unknown>;
  #changed = false;

  constructor(values: Readonly<Record<string, unknown>>) {
    this.#values = {};
    for (const [k, v] of Object.entries(values)) setOwn(this.#values, k, v);
  }

  get changed(): boolean {
    return this.#changed;
  }

  getMeta(name: string): unknown {
    return Object.hasOwn(this.#values, name) ? this.#values[name] : undefined;
  }

  setMeta(name: string, value: unknown): void {
    if (typeof name !== 'string') throw new TypeError('setMeta: the name must be a string');
    if (value === undefined || value === null) delete this.#values[name];
    else setOwn(this.#values, name, value);
    this.#changed = true;
  }

  /** The whole meta, as a plain object. */
  values(): Record<string, unknown> {
    return { ...this.#values };
  }
}

/**
 * A connection metadata object over a copy of `meta` (the pool's, and `@sterna/policy/testing`'s):
 * `changed` tells whether the policy called `setMeta`; `values()` is the meta as it is now.
 */
export function newConnectionMeta(meta: Record<string, unknown>): {
  readonly meta: ConnectionMeta;
  readonly changed: boolean;
  values(): Record<string, unknown>;
} {
  const object = new ConnMeta(meta);
  return {
    meta: object,
    get changed() {
      return object.changed;
    },
    values: () => object.values(),
  };
}
