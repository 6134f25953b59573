import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importedPackages } from '../src/imports.js';
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

describe('runtime imports', () => {
  it.each(packages.map((p) => [p.name, p] as [string, PublishedPackage]))(
    '%s imports only what it declares (dependencies and peers)',
    async (_name, pkg) => {
      const manifest = JSON.parse(await readFile(join(pkg.dir, 'package.json'), 'utf8')) as {
        dependencies?: Record<string, string>;
        peerDependencies?: Record<string, string>;
      };
      const declared = new Set([
        ...Object.keys(manifest.dependencies ?? {}),
        ...Object.keys(manifest.peerDependencies ?? {}),
      ]);
      const imported = await importedPackages(join(pkg.dir, 'dist'));
      // Every package but core itself uses core at run time (core imports only types).
      if (pkg.name !== '@sterna/core') expect(imported).toContain('@sterna/core');
      expect(imported.filter((name) => !declared.has(name))).toEqual([]);
    },
  );
});
