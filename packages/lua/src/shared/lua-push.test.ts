import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LuaEngine, LuaFactory } from 'wasmoon';
import { pushLuaValue } from './lua-push.js';
import { readLuaValue } from './lua-values.js';

let engine: LuaEngine;

beforeAll(async () => {
  engine = await new LuaFactory().createEngine({ enableProxy: false, injectObjects: false });
});
afterAll(() => engine.global.close());

/** Pushes `value` with {@link pushLuaValue} into the global `v`, then runs `lua` and returns its result. */
function inLua(value: unknown, lua: string): unknown {
  const thread = engine.global;
  pushLuaValue(thread, value);
  thread.lua.lua_setglobal(thread.address, 'v');
  return engine.doStringSync(lua);
}

/** Pushes `value` and reads it back as data. */
function roundTrip(value: unknown): unknown {
  const thread = engine.global;
  const top = thread.getTop();
  pushLuaValue(thread, value);
  try {
    return readLuaValue(thread, -1);
  } finally {
    thread.setTop(top);
  }
}

describe('pushLuaValue', () => {
  it('pushes scalars as Lua would hold them: integers as integers, the rest as floats', () => {
    expect(inLua(42, 'return math.type(v)')).toBe('integer');
    expect(inLua(-7, 'return math.type(v) .. tostring(v)')).toBe('integer-7');
    expect(inLua(1.5, 'return math.type(v)')).toBe('float');
    expect(inLua(2 ** 70, 'return math.type(v)')).toBe('float');
    expect(inLua(Number.NaN, 'return v ~= v')).toBe(true);
    expect(inLua(true, 'return type(v) .. tostring(v)')).toBe('booleantrue');
    expect(inLua(null, 'return v == nil')).toBe(true);
    expect(inLua(undefined, 'return v == nil')).toBe(true);
  });

  it('pushes strings byte-exact as UTF-8, including NUL and long ones', () => {
    expect(inLua('héllo ✓', 'return #v')).toBe(Buffer.byteLength('héllo ✓'));
    expect(inLua('a\0b', 'return #v .. ":" .. v:byte(2)')).toBe('3:0');
    const long = 'x'.repeat(100_000) + 'é';
    expect(inLua(long, 'return #v')).toBe(100_002);
    // The scratch buffer grew for that string and was given back; short strings still work.
    expect(inLua('after', 'return v')).toBe('after');
  });

  it('pushes arrays as sequences (holes for null) and objects without their null fields', () => {
    expect(inLua(['a', 'b', 'c'], 'return #v .. v[1] .. v[3]')).toBe('3ac');
    expect(inLua([1, null, 3], 'return tostring(v[2]) .. v[3]')).toBe('nil3');
    expect(
      inLua(
        { a: 1, b: null, c: undefined },
        'local n = 0 for _ in pairs(v) do n = n + 1 end return n',
      ),
    ).toBe(1);
    // Object keys stay strings, as wasmoon pushes them: "1" is not the integer 1.
    expect(inLua({ '1': 'x' }, "return tostring(v[1]) .. v['1']")).toBe('nilx');
  });

  it('pushes a log record as the same data the daemon holds', () => {
    const record = {
      type: 'Delivery',
      id: '0123456789abcdef',
      sender: 'a@example.com',
      recipient: ['b@example.net'],
      queue: 'example.net',
      size: 1234,
      response: { code: 250, enhanced_code: { class: 2, subject: 0, detail: 0 }, content: 'ok' },
      headers: { Subject: 'héllo' },
      meta: { nested: { deeper: [1, 2, { x: 'y' }] } },
      timestamp: 1700000000.25,
    };
    expect(roundTrip(record)).toEqual(record);
  });

  it('nests deeper than the stack space a C function is given', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 200; i++) deep = { d: deep };
    let path = 'v';
    for (let i = 0; i < 200; i++) path += '.d';
    expect(inLua(deep, `return ${path}`)).toBe('leaf');
  });

  it('hands what is not plain data to wasmoon: functions, class instances, cycles', () => {
    expect(inLua({ f: (x: number) => x * 2 }, 'return v.f(21)')).toBe(42);
    engine.global.set('w', new Date(0));
    expect(inLua(new Date(0), 'return type(v) == type(w)')).toBe(true);
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    expect(inLua(cyclic, 'return v.self.self.name .. tostring(v.self == v)')).toBe('looptrue');
  });

  it('leaves the stack as it found it, plus the one value', () => {
    const thread = engine.global;
    const top = thread.getTop();
    pushLuaValue(thread, { a: [1, { b: 2 }] });
    expect(thread.getTop()).toBe(top + 1);
    thread.setTop(top);
  });
});
