import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SMTP_ERROR_CODES } from './errors.js';

const docs = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
const section = docs.split(/^## /m).find((s) => s.startsWith('@sterna/protocol-smtp')) ?? '';
const documented = [...section.matchAll(/^### `(STERNA_[A-Z0-9_]+)`/gm)].map((m) => m[1]);

describe('smtp error codes', () => {
  it('has a section in docs/errors.md', () => {
    expect(section).not.toBe('');
  });

  it('documents every code', () => {
    expect(Object.keys(SMTP_ERROR_CODES).filter((c) => !documented.includes(c))).toEqual([]);
  });

  it('defines every documented code, each with the package prefix', () => {
    expect(documented.filter((c) => !(c! in SMTP_ERROR_CODES))).toEqual([]);
    for (const code of documented) expect(code).toMatch(/^STERNA_SMTP_/);
  });
});
