import { exactJson } from '@sterna/core/engine';

/**
 * Equal tables from the policy as one object. `get_queue_config` and `get_egress_path_config`
 * run once per queue and per domain, and most policies answer most of them with the same table:
 * with 100,000 destination domains the daemon would otherwise keep 100,000 equal egress paths
 * (each ~40 keys, its defaults filled in). A value equal to one seen before (same keys, in the
 * same order, same JSON) is that object; shared objects are frozen, so a writer that tried to
 * change one in place would fail loudly instead of changing other queues' settings.
 */
export class SharedValues<T extends object> {
  readonly #byText = new Map<string, T>();
  readonly #byRaw = new Map<string, T>();
  readonly #limit: number;

  /** @param limit distinct values remembered; the table starts over once it is full */
  constructor(limit = 1024) {
    this.#limit = limit;
  }

  /** `value`, or the frozen equal one seen before. */
  share(value: T): T {
    const text = JSON.stringify(value);
    const known = this.#byText.get(text);
    if (known) return known;
    // A policy that answers every queue differently gains nothing here: stay bounded.
    if (this.#byText.size >= this.#limit) this.#byText.clear();
    Object.freeze(value);
    this.#byText.set(text, value);
    return value;
  }

  /**
   * `parse(raw)`, shared as `share` does; a raw table whose key (`keyOf`) was parsed before
   * gives that result without parsing again (checking and filling in ~40 defaults per egress
   * path is most of the cost of a new queue after the policy call itself). Without a key (by
   * default, when JSON cannot state `raw` exactly: a function, a non-finite number, a bigint)
   * it is parsed every time; a parse that throws is not remembered.
   */
  parse<R>(raw: R, parse: (raw: R) => T, keyOf: (raw: R) => string | undefined = exactJson): T {
    const key = keyOf(raw);
    const known = key === undefined ? undefined : this.#byRaw.get(key);
    if (known) return known;
    const value = this.share(parse(raw));
    if (key !== undefined) {
      if (this.#byRaw.size >= this.#limit) this.#byRaw.clear();
      this.#byRaw.set(key, value);
    }
    return value;
  }
}
