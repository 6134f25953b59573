/**
 * Reading the helpers' data files as the Lua helpers do (`policy_utils.load_json_or_toml_file`):
 * `.toml` as TOML, `.yaml`/`.yml` as YAML, anything else as JSON with `//`, `/* *\/` and `#`
 * comments (KumoMTA accepts them). An object given in place of a file name is the data itself.
 * The data comes out as a Lua table would hold it: TOML dates as their text, `null` dropped.
 * @module
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { POLICY_EXTRAS_ROOT, stripJsonComments } from '@sterna/lua';
import { parse as parseToml, TomlDate, TomlError } from 'smol-toml';
import { isTable, type Problems, type Table, typeName } from './support.js';

/** A data file of a helper's setup list: a file name, or the data itself. */
export type DataFile = string | Table;

/** One data file read: its label in problems (the file name, or `<object #n>`), its data. */
export interface LoadedFile {
  readonly label: string;
  readonly data: Table;
}

/**
 * The files argument of `setup`: a list of file names and/or objects of data; one file name
 * alone is accepted too.
 *
 * @throws TypeError naming the helper's setup and the bad item.
 */
export function fileList(files: unknown, helper: string): DataFile[] {
  if (typeof files === 'string') return [files];
  if (!Array.isArray(files)) {
    if (isTable(files)) return [files];
    throw new TypeError(`${helper}.setup: expected a list of data files, got ${typeName(files)}`);
  }
  files.forEach((file, i) => {
    if (typeof file !== 'string' && !isTable(file)) {
      throw new TypeError(
        `${helper}.setup: data file ${i + 1} is a ${typeName(file)}, not a file name or an object`,
      );
    }
  });
  return files as DataFile[];
}

/**
 * Reads every data file of the list. A file that cannot be read or parsed, or holds no table,
 * becomes a problem naming it.
 */
export function loadAll(files: readonly DataFile[], problems: Problems): LoadedFile[] {
  const loaded: LoadedFile[] = [];
  files.forEach((file, i) => {
    const label = typeof file === 'string' ? file : `<object #${i + 1}>`;
    let data: unknown;
    try {
      data = typeof file === 'string' ? asLuaData(loadDataFile(file)) : file;
    } catch (error) {
      problems.add(label, undefined, error instanceof Error ? error.message : String(error));
      return;
    }
    if (!isTable(data) || Array.isArray(data)) {
      problems.add(label, undefined, `expected a table at the top level, got ${typeName(data)}`);
    } else loaded.push({ label, data });
  });
  return loaded;
}

/** A file's data by its extension. @throws Error with the parser's line and column. */
export function loadDataFile(path: string): unknown {
  const text = readFileSync(path, 'utf8');
  const lower = path.toLowerCase();
  if (lower.endsWith('.toml')) {
    try {
      return parseToml(text);
    } catch (error) {
      if (error instanceof TomlError) {
        const why = error.message
          .replace(/^Invalid TOML document: /, '')
          .split('\n')[0]!
          .trim();
        throw new Error(`line ${error.line}, column ${error.column}: ${why}`);
      }
      throw error;
    }
  }
  if (lower.endsWith('.yaml') || lower.endsWith('.yml')) return yaml().parse(text);
  return JSON.parse(stripJsonComments(text));
}

// YAML files are rare in this role; the parser is the one @sterna/lua reads them with, loaded
// on first use from there (it is not a dependency of this package).
let yamlModule: { parse(text: string): unknown } | undefined;
function yaml(): { parse(text: string): unknown } {
  if (yamlModule) return yamlModule;
  const from = createRequire(join(POLICY_EXTRAS_ROOT, 'index.js'));
  yamlModule = from('yaml') as { parse(text: string): unknown };
  return yamlModule;
}

/** Data as a Lua table holds it: TOML dates as their text, `null` dropped from tables. */
function asLuaData(value: unknown): unknown {
  if (value instanceof TomlDate) return value.toISOString();
  if (Array.isArray(value)) return value.map(asLuaData);
  if (typeof value === 'object' && value !== null) {
    const out: Table = {};
    for (const [k, v] of Object.entries(value)) {
      if (v !== null && v !== undefined) Object.defineProperty(out, k, own(asLuaData(v)));
    }
    return out;
  }
  return value;
}

const own = (value: unknown): PropertyDescriptor => ({
  value,
  enumerable: true,
  writable: true,
  configurable: true,
});
