import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MTA_ERROR_CODES } from './errors.js';

const docs = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');
const section = docs.split(/^## /m).find((s) => s.startsWith('@sterna/mta — daemon')) ?? '';
const documented = [...section.matchAll(/^### `(STERNA_[A-Z0-9_]+)`/gm)].map((m) => m[1]);

describe('daemon error codes', () => {
  it('are documented in docs/errors.md, and only they', () => {
    expect(documented.sort()).toEqual(Object.keys(MTA_ERROR_CODES).sort());
  });
});
