import { readFileSync } from 'node:fs';
import { silentLogger } from '@sterna/core';
import { describe, expect, it } from 'vitest';
import { HTTP_ERROR_CODES } from './errors.js';
import { startHttpListener } from './listener.js';

const docs = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');
const section = docs.split(/^## /m).find((s) => s.startsWith('@sterna/mta — http')) ?? '';
const documented = [...section.matchAll(/^### `(STERNA_[A-Z0-9_]+)`/gm)].map((m) => m[1]);

describe('http error codes', () => {
  it('every code is documented in docs/errors.md', () => {
    expect(Object.keys(HTTP_ERROR_CODES).filter((code) => !documented.includes(code))).toEqual([]);
  });

  it('every documented code exists, and all are STERNA_HTTP_*', () => {
    expect(documented.length).toBeGreaterThan(0);
    expect(documented.filter((code) => !(code! in HTTP_ERROR_CODES))).toEqual([]);
    expect(documented.every((code) => code!.startsWith('STERNA_HTTP_'))).toBe(true);
  });

  it('STERNA_HTTP_PARAMS names the bad value', async () => {
    const deps = {} as Parameters<typeof startHttpListener>[1];
    const params = {
      listen: '127.0.0.1:0',
      hostname: 'h',
      trusted_hosts: ['127.0.0.1'],
      use_tls: false,
      request_body_limit: 1024,
    };
    await expect(
      startHttpListener({ ...params, listen: 'nonsense' }, { ...deps, log: silentLogger }),
    ).rejects.toMatchObject({
      code: 'STERNA_HTTP_PARAMS',
      message: expect.stringContaining("'nonsense'"),
    });
    await expect(
      startHttpListener({ ...params, trusted_hosts: ['10.0.0.0/33'] }, deps),
    ).rejects.toMatchObject({
      code: 'STERNA_HTTP_PARAMS',
      message: expect.stringContaining('10.0.0.0/33'),
    });
    await expect(startHttpListener({ ...params, use_tls: true }, deps)).rejects.toMatchObject({
      code: 'STERNA_HTTP_PARAMS',
      message: expect.stringContaining('use_tls'),
    });
  });
});
