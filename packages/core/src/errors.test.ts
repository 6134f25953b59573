import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, errorText, isSternaError, SternaError } from './errors.js';

const docs = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
const documented = [...docs.matchAll(/^### `(STERNA_[A-Z0-9_]+)`/gm)].map((m) => m[1]);

describe('error codes', () => {
  it('every code is documented in docs/errors.md', () => {
    expect(Object.keys(ERROR_CODES).filter((code) => !documented.includes(code))).toEqual([]);
  });

  it('every documented core code exists', () => {
    // docs/errors.md lists codes of every package; those in the core section must exist here.
    const coreSection = docs.split(/^## /m).find((s) => s.startsWith('@sterna/core')) ?? '';
    const coreDocumented = [...coreSection.matchAll(/^### `(STERNA_[A-Z0-9_]+)`/gm)].map(
      (m) => m[1],
    );
    expect(coreDocumented.length).toBeGreaterThan(0);
    expect(coreDocumented.filter((code) => !(code! in ERROR_CODES))).toEqual([]);
  });

  it('carries its code', () => {
    const error = new SternaError('STERNA_OPTIONS_INVALID', 'bad', { cause: 'x' });
    expect(isSternaError(error)).toBe(true);
    expect(isSternaError(error, 'STERNA_OPTIONS_INVALID')).toBe(true);
    expect(isSternaError(error, 'STERNA_DRIVER_INVALID')).toBe(false);
    expect(isSternaError(new Error('x'))).toBe(false);
    expect(error.cause).toBe('x');
  });

  it('errorText reads any thrown value', () => {
    expect(errorText(new Error('a'))).toBe('a');
    expect(errorText('b')).toBe('b');
    expect(errorText({ code: 400 })).toBe('{"code":400}');
    expect(errorText(undefined)).toBe('undefined');
  });
});
