import type { LuaThread } from 'wasmoon';
import { setOwn } from './own-key.js';

// Direct wasm exports: wasmoon's `cwrap`ped versions convert every argument through `ccall`,
// which dominates the cost of reading a result table.
interface RawModule {
  HEAPU8: Uint8Array;
  HEAPU32: Uint32Array;
  _malloc(size: number): number;
  _free(pointer: number): void;
  _lua_type(L: number, index: number): number;
  _lua_absindex(L: number, index: number): number;
  _lua_tonumberx(L: number, index: number, isnum: number): number;
  _lua_toboolean(L: number, index: number): number;
  _lua_tolstring(L: number, index: number, lengthPointer: number): number;
  _lua_topointer(L: number, index: number): number;
  _lua_next(L: number, index: number): number;
  _lua_pushnil(L: number): void;
  _lua_settop(L: number, index: number): void;
  _lua_gettop(L: number): number;
}

const NIL = 0;
const BOOLEAN = 1;
const NUMBER = 3;
const STRING = 4;
const TABLE = 5;
const FUNCTION = 6;
const THREAD = 8;
const utf8 = new TextDecoder('utf-8');

/**
 * Reads the Lua value at `index` as plain data: tables become arrays (keys 1..n) or objects
 * (other keys, as strings), nil becomes undefined, functions and coroutines are dropped, userdata
 * becomes its `tostring` text. Faster than wasmoon's `getValue` for tables, which walks each table twice
 * and calls `tostring` on every key.
 */
export function readLuaValue(thread: LuaThread, index: number): unknown {
  const m = thread.lua.module as unknown as RawModule;
  const lengthPointer = m._malloc(4);
  try {
    return read(thread, m, m._lua_absindex(thread.address, index), lengthPointer, new Map());
  } finally {
    m._free(lengthPointer);
  }
}

function readString(m: RawModule, L: number, index: number, lengthPointer: number): string {
  const pointer = m._lua_tolstring(L, index, lengthPointer);
  const length = m.HEAPU32[lengthPointer >> 2]!;
  const heap = m.HEAPU8;
  if (length < 64) {
    let ascii = '';
    for (let i = 0; i < length; i++) {
      const c = heap[pointer + i]!;
      if (c > 0x7f) return utf8.decode(heap.subarray(pointer, pointer + length));
      ascii += String.fromCharCode(c);
    }
    return ascii;
  }
  return utf8.decode(heap.subarray(pointer, pointer + length));
}

function read(
  thread: LuaThread,
  m: RawModule,
  index: number,
  lengthPointer: number,
  seen: Map<number, unknown>,
): unknown {
  const L = thread.address;
  switch (m._lua_type(L, index)) {
    case NIL:
      return undefined;
    case BOOLEAN:
      return m._lua_toboolean(L, index) !== 0;
    case NUMBER:
      return m._lua_tonumberx(L, index, 0);
    case STRING:
      return readString(m, L, index, lengthPointer);
    case TABLE:
      break;
    case FUNCTION:
    case THREAD:
      // Not data: a function or coroutine cannot leave the context (nor cross into the daemon).
      return undefined;
    default:
      // Userdata (a JS value wasmoon wrapped, or a light pointer): its text form.
      return thread.indexToString(index);
  }
  const pointer = m._lua_topointer(L, index);
  const known = seen.get(pointer);
  if (known !== undefined) return known;
  const keys: (string | number)[] = [];
  const values: unknown[] = [];
  const top = m._lua_gettop(L);
  m._lua_pushnil(L);
  while (m._lua_next(L, index) !== 0) {
    const keyType = m._lua_type(L, -2);
    keys.push(
      keyType === NUMBER
        ? m._lua_tonumberx(L, -2, 0)
        : keyType === STRING
          ? readString(m, L, -2, lengthPointer)
          : String(thread.indexToString(-2)),
    );
    values.push(read(thread, m, m._lua_absindex(L, -1), lengthPointer, seen));
    m._lua_settop(L, -2);
  }
  m._lua_settop(L, top);
  const isArray =
    keys.length > 0 && keys.every((k) => typeof k === 'number') && isSequence(keys as number[]);
  if (isArray) {
    const out: unknown[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) out[(keys[i] as number) - 1] = values[i];
    seen.set(pointer, out);
    return out;
  }
  const out: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) setOwn(out, String(keys[i]), values[i]);
  seen.set(pointer, out);
  return out;
}

function isSequence(keys: number[]): boolean {
  const n = keys.length;
  const hit = new Uint8Array(n + 1);
  for (const k of keys) {
    if (!Number.isInteger(k) || k < 1 || k > n || hit[k]) return false;
    hit[k] = 1;
  }
  return true;
}
