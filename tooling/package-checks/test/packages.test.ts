import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lintTarball } from '../src/lint-tarball.js';
import { packPackage } from '../src/pack.js';
import { type PublishedPackage, publishedPackages } from '../src/workspace.js';

// Every published package (and the example drivers), packed as npm would publish it.
const packages = await publishedPackages();
let dest: string;
beforeAll(async () => {
  dest = await mkdtemp(join(tmpdir(), 'sterna-pack-'));
});
afterAll(() => rm(dest, { recursive: true, force: true }));

describe('packed packages', () => {
  it('finds the packages to check', () => {
    expect(packages.map((p) => p.name)).toEqual(
      expect.arrayContaining([
        '@sterna/core',
        '@sterna/mta',
        '@sterna/protocol-smtp',
        '@sterna/protocol-testkit',
        'sterna-protocol-lmtp',
      ]),
    );
  });

  it.each(packages.map((p) => [p.name, p] as [string, PublishedPackage]))(
    '%s passes publint and attw (esm-only)',
    async (_name, pkg) => {
      const verdict = await lintTarball(await packPackage(pkg, dest));
      expect(verdict.publint.ok, verdict.publint.output).toBe(true);
      expect(verdict.attw.ok, verdict.attw.output).toBe(true);
    },
  );
});
