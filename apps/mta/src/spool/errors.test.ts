import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ioReason, SPOOL_ERROR_CODES, spoolError } from './errors.js';

const docs = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');
const section = docs.split(/^## /m).find((s) => s.startsWith('@sterna/mta — spool')) ?? '';
const documented = [...section.matchAll(/^### `(STERNA_[A-Z0-9_]+)`/gm)].map((m) => m[1]!);

describe('spool error codes', () => {
  it('every code is documented in its section of docs/errors.md', () => {
    expect(documented.length).toBeGreaterThan(0);
    expect(Object.keys(SPOOL_ERROR_CODES).filter((c) => !documented.includes(c))).toEqual([]);
  });

  it('every documented code exists', () => {
    expect(documented.filter((c) => !(c in SPOOL_ERROR_CODES))).toEqual([]);
    expect(documented.every((c) => c.startsWith('STERNA_SPOOL_'))).toBe(true);
  });

  it('keeps the cause and names the system error', () => {
    const cause = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    const error = spoolError('STERNA_SPOOL_WRITE', `write failed: ${ioReason(cause)}`, cause);
    expect(error.code).toBe('STERNA_SPOOL_WRITE');
    expect(error.message).toBe('write failed: ENOSPC: no space left on device');
    expect(error.cause).toBe(cause);
  });
});
