import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './run.js';
import type { PublishedPackage } from './workspace.js';

/** The pinned pnpm, as the README runs it (only node and npm needed). */
export const PNPM = ['-y', 'pnpm@12.4.2'] as const;

/**
 * Packs a workspace package with pnpm (which rewrites `workspace:` ranges to real versions, as
 * publishing does) into `dest`; returns the tarball's path. Needs `dist/` built first.
 */
export async function packPackage(pkg: PublishedPackage, dest: string): Promise<string> {
  const before = new Set(await readdir(dest));
  const result = await run('npx', [...PNPM, 'pack', '--pack-destination', dest], {
    cwd: pkg.dir,
    timeoutMs: 120_000,
  });
  const created = (await readdir(dest)).filter((f) => f.endsWith('.tgz') && !before.has(f));
  if (result.code !== 0 || created.length !== 1) {
    throw new Error(`pnpm pack of ${pkg.name} failed (exit ${result.code}):\n${result.output}`);
  }
  return join(dest, created[0]!);
}
