/**
 * `pnpm check:packages`: packs every published package (and the example drivers) and runs
 * publint and attw on each tarball. Run after `pnpm build`; exits 1 if any package fails.
 * @packageDocumentation
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lintTarball } from './lint-tarball.js';
import { packPackage } from './pack.js';
import { publishedPackages } from './workspace.js';

const dest = await mkdtemp(join(tmpdir(), 'sterna-pack-'));
let failed = 0;
try {
  for (const pkg of await publishedPackages()) {
    const tarball = await packPackage(pkg, dest);
    const verdict = await lintTarball(tarball);
    const ok = verdict.publint.ok && verdict.attw.ok;
    if (!ok) failed++;
    console.log(
      `${ok ? 'ok  ' : 'FAIL'} ${pkg.name}@${pkg.version}  publint: ${verdict.publint.ok ? 'ok' : 'FAIL'}  attw: ${verdict.attw.ok ? 'ok' : 'FAIL'}`,
    );
    if (!verdict.publint.ok) console.log(verdict.publint.output);
    if (!verdict.attw.ok) console.log(verdict.attw.output);
  }
} finally {
  await rm(dest, { recursive: true, force: true });
}
process.exitCode = failed > 0 ? 1 : 0;
