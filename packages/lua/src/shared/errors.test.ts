import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isLuaRejection, LUA_ERROR_CODES, LuaRejection } from './errors.js';

const docs = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');
const section = docs.split(/^## /m).find((s) => s.startsWith('@sterna/lua')) ?? '';
const documented = [...section.matchAll(/^### `(STERNA_[A-Z0-9_]+)`/gm)].map((m) => m[1]);

describe('error codes', () => {
  it('every code is documented in the @sterna/lua section of docs/errors.md', () => {
    expect(Object.keys(LUA_ERROR_CODES).filter((code) => !documented.includes(code))).toEqual([]);
  });

  it('every documented code exists', () => {
    expect(documented.length).toBeGreaterThan(0);
    expect(documented.filter((code) => !(code! in LUA_ERROR_CODES))).toEqual([]);
  });

  it('a rejection keeps the code and text', () => {
    const rejection = new LuaRejection(400, 'later');
    expect(isLuaRejection(rejection)).toBe(true);
    expect(isLuaRejection(new Error('x'))).toBe(false);
    expect([rejection.code, rejection.text, rejection.message]).toEqual([
      400,
      'later',
      '400 later',
    ]);
  });
});
