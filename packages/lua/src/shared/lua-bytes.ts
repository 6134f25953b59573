import type { LuaThread } from 'wasmoon';

// The raw Emscripten exports wasmoon does not type: the C functions taking and returning
// pointers, and the current view of the wasm heap (replaced whenever memory grows).
interface RawModule {
  HEAPU8: Uint8Array;
  HEAPU32: Uint32Array;
  _malloc(size: number): number;
  _free(pointer: number): void;
  _lua_pushlstring(L: number, pointer: number, length: number): number;
  _lua_tolstring(L: number, index: number, lengthPointer: number): number;
  _lua_type(L: number, index: number): number;
}

const LUA_TSTRING = 4;

function raw(thread: LuaThread): RawModule {
  return thread.lua.module as unknown as RawModule;
}

/**
 * Pushes bytes as a Lua string, byte for byte. wasmoon's own `pushValue` goes through a
 * JavaScript string and UTF-8, which would mangle 8-bit message data.
 */
export function pushBytes(thread: LuaThread, bytes: Uint8Array): void {
  const m = raw(thread);
  const pointer = m._malloc(bytes.length || 1);
  try {
    m.HEAPU8.set(bytes, pointer);
    m._lua_pushlstring(thread.address, pointer, bytes.length);
  } finally {
    m._free(pointer);
  }
}

/** The bytes of the Lua string at `index`, or `undefined` when the value is not a string. */
export function readBytes(thread: LuaThread, index: number): Uint8Array | undefined {
  const m = raw(thread);
  if (m._lua_type(thread.address, index) !== LUA_TSTRING) return undefined;
  const lengthPointer = m._malloc(4);
  try {
    const pointer = m._lua_tolstring(thread.address, index, lengthPointer);
    const length = m.HEAPU32[lengthPointer >> 2]!;
    return m.HEAPU8.slice(pointer, pointer + length);
  } finally {
    m._free(lengthPointer);
  }
}
