import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { errorText } from '@sterna/core';
import type { ContextImplementations, SerdeFormat } from '../host/host-calls.js';
import { fromLua, stripJsonComments, toLua } from '../shared/json-text.js';
import { setOwn } from '../shared/own-key.js';
import { jsonErrorOffset } from './json-position.js';

// The TOML and YAML parsers load on first use: yaml alone costs each Lua worker ~10 MB, and a
// policy that reads no such file should not pay for it.
const require = createRequire(import.meta.url);
let tomlModule: typeof import('smol-toml') | undefined;
let yamlModule: typeof import('yaml') | undefined;
const toml = () => (tomlModule ??= require('smol-toml') as typeof import('smol-toml'));
const yaml = () => (yamlModule ??= require('yaml') as typeof import('yaml'));

/** Where in the text a parser stopped, when it says. */
interface Position {
  line: number;
  column: number;
}

/** `line N, column M: why` from what each parser throws (the first line of its message). */
function describe(format: SerdeFormat, error: unknown, text: string): string {
  let position: Position | undefined;
  let why = errorText(error);
  if (tomlModule && error instanceof tomlModule.TomlError) {
    position = { line: error.line, column: error.column };
    why = why.replace(/^Invalid TOML document: /, '');
  } else if (yamlModule && error instanceof yamlModule.YAMLError) {
    const at = error.linePos?.[0];
    if (at) position = { line: at.line, column: at.col };
    why = why.replace(/ at line \d+, column \d+:[\s\S]*$/, '');
  } else if (format === 'json') {
    const offset = jsonErrorOffset(stripJsonComments(text));
    if (offset !== undefined) {
      const lines = text.slice(0, offset).split('\n');
      position = { line: lines.length, column: lines.at(-1)!.length + 1 };
    }
    // The messages differ between Node versions; the position above is ours.
    why = why
      .replace(/,? (in JSON )?at position \d+.*$/, '')
      .replace(/ \(line \d+ column \d+\)$/, '');
  }
  why = why.split('\n')[0]!.trim();
  return position ? `line ${position.line}, column ${position.column}: ${why}` : why;
}

/** Parsed data as Lua reads it: TOML dates and times as their TOML text, null as nil. */
function toLuaData(value: unknown): unknown {
  if (tomlModule && value instanceof tomlModule.TomlDate) return value.toISOString();
  if (Array.isArray(value)) return value.map(toLuaData);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) setOwn(out, k, toLuaData(v));
    return toLua(out);
  }
  return toLua(value);
}

function parseText(format: SerdeFormat, text: string): unknown {
  switch (format) {
    case 'toml':
      return toml().parse(text);
    case 'yaml':
      return yaml().parse(text);
    case 'json':
      return JSON.parse(stripJsonComments(text));
  }
}

function parseOrThrow(format: SerdeFormat, op: string, text: string, path?: string): unknown {
  try {
    return toLuaData(parseText(format, text));
  } catch (error) {
    const where = path === undefined ? '' : `${path}: `;
    throw `kumo.serde.${format}_${op}: ${where}${describe(format, error, text)}`;
  }
}

/** Keys in sorted order at every level: a Lua table has no order, the text gets a stable one. */
function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    setOwn(out, key, sorted((value as Record<string, unknown>)[key]));
  }
  return out;
}

/** A Lua value as TOML or YAML text; TOML needs a table of keys at the top. */
function encode(format: 'toml' | 'yaml', value: unknown): string {
  const data = sorted(fromLua(value ?? null));
  if (format === 'yaml') return yaml().stringify(data);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new Error(
      'TOML can only encode a table of keys (a TOML document), not a list or a value',
    );
  }
  return toml().stringify(data);
}

/**
 * The host functions behind `kumo.serde`'s TOML and YAML functions and every format's `*_load`
 * (kumo/serde.lua). Parsing runs here, in the worker; errors name the file (for `*_load`) and
 * the line and column the parser stopped at.
 */
export function serdeFunctions() {
  return {
    serde_parse: (format: SerdeFormat, text: string) => parseOrThrow(format, 'parse', String(text)),
    serde_load: (format: SerdeFormat, path: string) => {
      let text: string;
      try {
        text = readFileSync(String(path), 'utf8');
      } catch (error) {
        throw `kumo.serde.${format}_load: ${errorText(error)}`;
      }
      return parseOrThrow(format, 'load', text, String(path));
    },
    serde_encode: (format: 'toml' | 'yaml', value: unknown) => {
      try {
        return encode(format, value);
      } catch (error) {
        throw `kumo.serde.${format}_encode: ${errorText(error)}`;
      }
    },
  } satisfies Partial<ContextImplementations>;
}
