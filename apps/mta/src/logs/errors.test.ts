import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LOGS_ERROR_CODES } from './errors.js';

const docs = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');
const section = docs.split(/^## /m).find((s) => s.startsWith('@sterna/mta — logs')) ?? '';
const documented = [...section.matchAll(/^### `(STERNA_[A-Z0-9_]+)`/gm)].map((m) => m[1]);

describe('log error codes', () => {
  it('every code is documented in docs/errors.md', () => {
    expect(Object.keys(LOGS_ERROR_CODES).filter((code) => !documented.includes(code))).toEqual([]);
  });

  it('every documented code exists, and all are STERNA_LOGS_*', () => {
    expect(documented.length).toBeGreaterThan(0);
    expect(documented.filter((code) => !(code! in LOGS_ERROR_CODES))).toEqual([]);
    expect(documented.every((code) => code!.startsWith('STERNA_LOGS_'))).toBe(true);
  });
});
