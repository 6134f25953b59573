import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAILDIR_ERROR_CODES } from './errors.js';

const docs = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
const section = docs.split(/^## /m).find((s) => s.startsWith('@sterna/protocol-maildir')) ?? '';
const documented = [...section.matchAll(/^### `(STERNA_[A-Z0-9_]+)`/gm)].map((m) => m[1]);

describe('maildir error codes', () => {
  it('are all documented in docs/errors.md under @sterna/protocol-maildir', () => {
    expect(Object.keys(MAILDIR_ERROR_CODES).filter((c) => !documented.includes(c))).toEqual([]);
  });

  it('are all defined when documented there', () => {
    expect(documented.length).toBeGreaterThan(0);
    expect(documented.filter((c) => !(c! in MAILDIR_ERROR_CODES))).toEqual([]);
  });

  it('follow the STERNA_MAILDIR_ prefix', () => {
    for (const code of Object.keys(MAILDIR_ERROR_CODES)) expect(code).toMatch(/^STERNA_MAILDIR_/);
  });
});
