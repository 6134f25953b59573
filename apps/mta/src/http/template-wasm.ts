import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { compileFunction } from 'node:vm';
import type * as Minijinja from 'minijinja-js';

// Loading minijinja-js (MiniJinja compiled to WebAssembly, with wasm-bindgen's glue for Node) as
// many times as needed, each time a new, independent instance whose memory is capped.

/** The bindings' exports. */
export type MinijinjaLibrary = typeof Minijinja;

const require = createRequire(import.meta.url);
const WASM_PAGE = 65_536;

let glue: { path: string; source: string; wasm: Uint8Array; maxBytes: number } | undefined;

/**
 * Loads a fresh instance of the bindings whose WebAssembly memory may grow to `maxBytes`. The glue
 * code reads its `.wasm` file with `require('fs').readFileSync`; it is evaluated here with a
 * `require` that hands over the module with the memory section rewritten instead.
 *
 * @throws Error when the package is not the expected build (its memory section).
 */
export function loadMinijinja(maxBytes: number): MinijinjaLibrary {
  if (glue?.maxBytes !== maxBytes) {
    const path = require.resolve('minijinja-js');
    const wasm = readFileSync(join(dirname(path), 'minijinja_js_bg.wasm'));
    glue = {
      path,
      source: readFileSync(path, 'utf8'),
      wasm: capMemory(wasm, Math.floor(maxBytes / WASM_PAGE)),
      maxBytes,
    };
  }
  const { path, source, wasm } = glue;
  const module = { exports: {} as Record<string, unknown> };
  const localRequire = (id: string): unknown =>
    id === 'fs' ? { readFileSync: () => wasm } : require(id);
  const run = compileFunction(source, ['exports', 'require', 'module', '__filename', '__dirname'], {
    filename: path,
  });
  run(module.exports, localRequire, module, path, dirname(path));
  return module.exports as unknown as MinijinjaLibrary;
}

/** The WebAssembly memory of an instance loaded by {@link loadMinijinja} (tests check its cap). */
export function memoryOf(library: MinijinjaLibrary): {
  grow(pages: number): number;
  buffer: ArrayBuffer;
} {
  return (library as unknown as { __wasm: { memory: ReturnType<typeof memoryOf> } }).__wasm.memory;
}

/**
 * Returns a copy of the WebAssembly module `wasm` whose (single, 32-bit) memory may grow to at
 * most `maxPages` pages of 64 KiB.
 *
 * @throws Error when the module's memory section is not the expected one.
 */
export function capMemory(wasm: Uint8Array, maxPages: number): Uint8Array {
  let pos = 8; // magic number and version
  while (pos < wasm.length) {
    const id = wasm[pos]!;
    const [size, sizeLength] = readU32(wasm, pos + 1);
    const body = pos + 1 + sizeLength;
    if (id === 5) {
      let p = body;
      const [count, countLength] = readU32(wasm, p);
      p += countLength;
      const flags = wasm[p++];
      if (count !== 1 || (flags !== 0 && flags !== 1)) {
        throw new Error('minijinja-js: unexpected WebAssembly memory section');
      }
      const [min, minLength] = readU32(wasm, p);
      p += minLength;
      const max = flags === 1 ? Math.min(readU32(wasm, p)[0], maxPages) : maxPages;
      if (min > max) throw new Error('minijinja-js: its initial memory exceeds the cap');
      const section = [1, 1, ...writeU32(min), ...writeU32(max)];
      return Buffer.concat([
        wasm.subarray(0, pos),
        Uint8Array.from([5, ...writeU32(section.length), ...section]),
        wasm.subarray(body + size),
      ]);
    }
    pos = body + size;
  }
  throw new Error('minijinja-js: no WebAssembly memory section');
}

function readU32(bytes: Uint8Array, at: number): [value: number, length: number] {
  let value = 0;
  let shift = 0;
  let i = at;
  for (;;) {
    const byte = bytes[i++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, i - at];
    shift += 7;
  }
}

function writeU32(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  do {
    let byte = rest & 0x7f;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    out.push(byte);
  } while (rest > 0);
  return out;
}
