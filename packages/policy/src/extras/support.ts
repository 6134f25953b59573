/**
 * What the data-file helpers (queue, sources, shaping) share: key paths written as TOML writes
 * dotted keys, the problem list, and the checks of plain data. The texts are those of the Lua
 * helpers (packages/lua/src/policy-extras/helper_support.lua), so a team moving a policy from
 * Lua to TypeScript reads the same errors:
 *
 *     <helper>: <file>: <key path>: <what is wrong>
 *
 * Fixed keys are bare (`max_age`); names the data defines (domains, tenants, sources, pools,
 * providers) are always quoted (`queue.'gmail.com'.max_age`).
 * @module
 */

/** One mistake: the file (or `<object #n>`), the key path (none for the file as a whole), what. */
export interface Problem {
  readonly file: string;
  readonly path: string | undefined;
  readonly text: string;
}

/** A plain table of data read from a file (a TOML table, a JSON object). */
export type Table = Record<string, unknown>;

/** A name the data defines, always quoted: `'gmail.com'` (JSON-quoted when it holds a `'`). */
export function quoteName(key: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters force the escaped form.
  if (/['\u0000-\u001f\u007f]/.test(key)) return JSON.stringify(key);
  return `'${key}'`;
}

/** A fixed key: bare when TOML allows it (`max_age`, `pool-1`), else quoted like a name. */
export function quoteKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : quoteName(key);
}

/** `path` followed by fixed keys: `keyPath("queue.'x'", 'max_age')` is `queue.'x'.max_age`. */
export function keyPath(path: string | undefined, ...keys: string[]): string {
  const parts = path ? [path] : [];
  for (const k of keys) parts.push(quoteKey(k));
  return parts.join('.');
}

/** `path` followed by a name the data defines: `entryPath('queue', 'gmail.com')`. */
export function entryPath(path: string | undefined, name: string): string {
  return path ? `${path}.${quoteName(name)}` : quoteName(name);
}

/** A collector of problems. */
export class Problems {
  readonly list: Problem[] = [];
  add(file: string, path: string | undefined, text: string): void {
    this.list.push({ file, path, text });
  }
  addAll(other: readonly Problem[]): void {
    this.list.push(...other);
  }
}

/** One problem as `<file>: <key path>: <what>` (`<file>: <what>` without a key path). */
export function describe(problem: Problem): string {
  return problem.path
    ? `${problem.file}: ${problem.path}: ${problem.text}`
    : `${problem.file}: ${problem.text}`;
}

/** The error a helper raises for `list` (every problem, `; `-separated). */
export class HelperError extends Error {
  constructor(
    readonly helper: string,
    readonly problems: readonly Problem[],
  ) {
    super(`${helper}: ${problems.map(describe).join('; ')}`);
    this.name = 'HelperError';
  }
}

/** Throws one {@link HelperError} listing every problem; does nothing for none. */
export function raise(helper: string, list: readonly Problem[]): void {
  if (list.length > 0) throw new HelperError(helper, list);
}

/**
 * The text of an error without what the key path already says: a Sterna error code and the
 * name of the function that raised it (`makeQueueConfig: unknown field 'x'` gives
 * `unknown field 'x'`).
 */
export function reason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text
    .replace(/^STERNA_[A-Z_]+:\s*/, '')
    .replace(/^kumo\.[\w.]+:\s*/, '')
    .replace(/^make[A-Za-z]+:\s*/, '');
}

/** A value's type as the Lua helpers name it (`table` for objects and arrays, `nil`). */
export function typeName(value: unknown): string {
  if (value === undefined || value === null) return 'nil';
  if (typeof value === 'object') return 'table';
  if (typeof value === 'bigint') return 'number';
  return typeof value;
}

/** True for a non-empty array (a TOML or JSON array). */
export function isArray(value: unknown): value is unknown[] {
  return Array.isArray(value) && value.length > 0;
}

/** True for a table of keys (an empty array counts, as an empty Lua table does). */
export function isTable(value: unknown): value is Table {
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && value !== null && !(value instanceof Uint8Array);
}

/** The entries of a table (an empty array has none), keys in name order. */
export function sortedEntries(value: Table | unknown[]): [string, unknown][] {
  if (Array.isArray(value)) return [];
  return Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Calls `fn(name, value, entryPath)` for each entry of `table`, a table of named entries at
 * `path`, in name order. `table` not being a table of keys, or an entry not being one, is a
 * problem (`expected <what>, got <type>`) instead.
 */
export function eachEntry(
  table: unknown,
  path: string,
  label: string,
  problems: Problems,
  what: string,
  fn: (name: string, value: Table, at: string) => void,
): void {
  if (!isTable(table)) {
    problems.add(label, path, `expected a table of entries, got ${typeName(table)}`);
    return;
  }
  for (const [name, value] of sortedEntries(table)) {
    const at = entryPath(path, name);
    if (isTable(value)) fn(name, value, at);
    else problems.add(label, at, `expected ${what}, got ${typeName(value)}`);
  }
}

/** Each key of `table` that `allowed` does not hold is a problem, in name order. */
export function knownKeys(
  problems: Problems,
  file: string,
  path: string,
  table: Table,
  allowed: ReadonlySet<string>,
): void {
  for (const [k] of sortedEntries(table)) {
    if (!allowed.has(k)) problems.add(file, keyPath(path, k), 'unknown key');
  }
}

/** A shallow copy of a table's own keys (an empty array gives `{}`). */
export function copy(table: Table | unknown[]): Table {
  return Object.fromEntries(sortedEntries(table));
}

/** Sets `table[key]` as an own data property (a key such as `__proto__` stays a key). */
export function put(table: Table, key: string, value: unknown): void {
  Object.defineProperty(table, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}
