import type { LuaThread } from 'wasmoon';

// Direct wasm exports (see lua-values.ts): wasmoon's `pushValue` asks every registered type
// extension about every value and pushes each string through `ccall`, which made pushing a
// log record (a few hundred fields) the largest single cost of a log hook's worker.
interface RawModule {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(pointer: number): void;
  _lua_checkstack(L: number, n: number): number;
  _lua_createtable(L: number, narr: number, nrec: number): void;
  _lua_pushnil(L: number): void;
  _lua_pushboolean(L: number, b: number): void;
  _lua_pushinteger(L: number, n: bigint): void;
  _lua_pushnumber(L: number, n: number): void;
  _lua_pushlstring(L: number, pointer: number, length: number): number;
  _lua_rawset(L: number, index: number): void;
  _lua_rawseti(L: number, index: number, n: bigint): void;
  _lua_gettop(L: number): number;
  _lua_settop(L: number, index: number): void;
}

/** Where strings are encoded on their way into Lua: one buffer per runtime, grown on need. */
interface Scratch {
  pointer: number;
  capacity: number;
}

const scratches = new WeakMap<RawModule, Scratch>();
const encoder = new TextEncoder();
/** A scratch buffer larger than this is given back after the push that grew it. */
const KEEP_SCRATCH = 64 * 1024;
const INT64_LIMIT = 2 ** 63;

class Cycle extends Error {}

/**
 * Pushes `value` onto the thread's stack as Lua data, as `thread.pushValue` would, without
 * going through wasmoon's type extensions: strings, numbers (integers as Lua integers), booleans,
 * nil for `null`/`undefined`, and arrays and plain objects as tables (`null`/`undefined` object
 * fields are left out, array holes stay holes). Anything else in it — a function, a class
 * instance, a thenable, bytes — is handed to `thread.pushValue` as before, and so is a value that
 * refers to itself.
 */
export function pushLuaValue(thread: LuaThread, value: unknown): void {
  const m = thread.lua.module as unknown as RawModule;
  const L = thread.address;
  const top = m._lua_gettop(L);
  const pusher = new Pusher(thread, m);
  try {
    pusher.push(value);
  } catch (error) {
    if (!(error instanceof Cycle)) throw error;
    m._lua_settop(L, top);
    thread.pushValue(value);
  } finally {
    pusher.release();
  }
}

class Pusher {
  private readonly L: number;
  private readonly scratch: Scratch;
  private readonly open: object[] = [];

  constructor(
    private readonly thread: LuaThread,
    private readonly m: RawModule,
  ) {
    this.L = thread.address;
    let scratch = scratches.get(m);
    if (!scratch) {
      scratch = { pointer: m._malloc(256), capacity: 256 };
      scratches.set(m, scratch);
    }
    this.scratch = scratch;
  }

  release(): void {
    if (this.scratch.capacity > KEEP_SCRATCH) {
      this.m._free(this.scratch.pointer);
      this.scratch.pointer = this.m._malloc(256);
      this.scratch.capacity = 256;
    }
  }

  push(value: unknown): void {
    const { m, L } = this;
    switch (typeof value) {
      case 'string':
        this.pushString(value);
        return;
      case 'number':
        if (Number.isInteger(value) && Math.abs(value) < INT64_LIMIT)
          m._lua_pushinteger(L, BigInt(value));
        else m._lua_pushnumber(L, value);
        return;
      case 'boolean':
        m._lua_pushboolean(L, value ? 1 : 0);
        return;
      case 'undefined':
        m._lua_pushnil(L);
        return;
      case 'object':
        if (value === null) {
          m._lua_pushnil(L);
          return;
        }
        if (Array.isArray(value)) {
          this.pushArray(value);
          return;
        }
        if (isPlainData(value)) {
          this.pushObject(value as Record<string, unknown>);
          return;
        }
        break;
    }
    this.thread.pushValue(value);
  }

  private enter(value: object): void {
    if (this.open.includes(value)) throw new Cycle();
    this.open.push(value);
    // Room for the table, a key and a value on top of what the caller holds.
    if (!this.m._lua_checkstack(this.L, 3)) throw new Error('Lua stack overflow pushing a value');
  }

  private pushArray(value: unknown[]): void {
    const { m, L } = this;
    this.enter(value);
    m._lua_createtable(L, value.length, 0);
    const table = m._lua_gettop(L);
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (item === null || item === undefined) continue;
      this.push(item);
      m._lua_rawseti(L, table, BigInt(i + 1));
    }
    this.open.pop();
  }

  private pushObject(value: Record<string, unknown>): void {
    const { m, L } = this;
    this.enter(value);
    const keys = Object.keys(value);
    m._lua_createtable(L, 0, keys.length);
    const table = m._lua_gettop(L);
    for (const key of keys) {
      const item = value[key];
      if (item === null || item === undefined) continue;
      this.pushString(key);
      this.push(item);
      m._lua_rawset(L, table);
    }
    this.open.pop();
  }

  private pushString(text: string): void {
    const { m, scratch } = this;
    const worst = text.length * 3;
    if (worst > scratch.capacity) {
      m._free(scratch.pointer);
      scratch.capacity = Math.max(worst, scratch.capacity * 2);
      scratch.pointer = m._malloc(scratch.capacity);
    }
    const heap = m.HEAPU8;
    const at = scratch.pointer;
    let length = -1;
    if (text.length <= 64) {
      length = text.length;
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c > 0x7f) {
          length = -1;
          break;
        }
        heap[at + i] = c;
      }
    }
    if (length < 0)
      length = encoder.encodeInto(text, heap.subarray(at, at + scratch.capacity)).written;
    m._lua_pushlstring(this.L, at, length);
  }
}

/** An object literal or `Object.create(null)` with no `then` method (wasmoon pushes those as promises). */
function isPlainData(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  return typeof (value as { then?: unknown }).then !== 'function';
}
