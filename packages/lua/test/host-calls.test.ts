import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { preludeChunks } from '../src/context/preludes.js';
import { HOST_CALLS } from '../src/host/host-calls.js';

// The Lua side of the host-call declaration, checked: every host function the runtime's .lua
// files call is declared in src/host/host-calls.ts, and every declared one is called. The
// files receive the host table as `H` (`local H, kumo, internal = ...`) and call it as
// `H.name(...)`; any other use of `H` (indexing by a computed key, an alias) would hide a
// name from this scan, so it fails too.

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

function luaFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return luaFiles(path);
    return entry.name.endsWith('.lua') ? [path] : [];
  });
}

/** Lua source without its comments (`-- …` to the end of the line; the files have no strings with `--`). */
const code = (text: string) => text.replace(/--.*$/gm, '');

// policy-extras/ holds the helper modules policies `require`: plain Lua, run without `H`.
const all = luaFiles(SRC).map((path) => ({
  name: relative(SRC, path),
  text: code(readFileSync(path, 'utf8')),
}));
const isExtra = (name: string) => name.startsWith('policy-extras/');
const files = all.filter((f) => !isExtra(f.name));
const declared = new Set(Object.keys(HOST_CALLS));

describe('host calls: the .lua files against the declaration', () => {
  it('scans every .lua file the runtime ships, and only those', () => {
    const shipped = preludeChunks().map((c) => c.name.replace(/^@@sterna\/lua\//, ''));
    expect(files.map((f) => f.name).sort()).toEqual([...shipped].sort());
  });

  it('gives the policy-extras helpers no host table: they use the kumo module as policies do', () => {
    const using = all
      .filter((f) => isExtra(f.name) && /\bH\.[A-Za-z_]/.test(f.text))
      .map((f) => f.name);
    expect(using).toEqual([]);
  });

  it('reaches the host table only as H.name', () => {
    const other = files.flatMap(({ name, text }) =>
      text
        // The one place H is bound: the chunk's arguments.
        .replace(/^local H(, \w+)* = \.\.\.$/m, '')
        .split('\n')
        .filter((line) => /\bH\b(?!\.[A-Za-z_])/.test(line))
        .map((line) => `${name}: ${line.trim()}`),
    );
    expect(other).toEqual([]);
  });

  it('calls no host function the declaration does not name', () => {
    const unknown = files.flatMap(({ name, text }) =>
      [...text.matchAll(/\bH\.([A-Za-z_]\w*)/g)]
        .map((m) => m[1]!)
        .filter((call) => !declared.has(call))
        .map((call) => `${name}: H.${call}`),
    );
    expect(unknown).toEqual([]);
  });

  it('declares no host function that no .lua file calls', () => {
    const called = new Set(
      files.flatMap(({ text }) => [...text.matchAll(/\bH\.([A-Za-z_]\w*)/g)].map((m) => m[1]!)),
    );
    expect([...declared].filter((name) => !called.has(name))).toEqual([]);
  });
});
