import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const workspaceRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** A package that is published (or, for examples, written as if it were). */
export interface PublishedPackage {
  readonly name: string;
  readonly version: string;
  /** Absolute directory. */
  readonly dir: string;
  readonly private: boolean;
}

// Libraries and the app are published; examples/protocol-* are private but are held to the
// same standard, since they show what a third party publishes.
const GROUPS = ['packages', 'apps', 'examples'];

/** Every package whose tarball must pass publint and attw, sorted by name. */
export async function publishedPackages(): Promise<PublishedPackage[]> {
  const found: PublishedPackage[] = [];
  for (const group of GROUPS) {
    for (const entry of await readdir(join(workspaceRoot, group), { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      if (group === 'examples' && !entry.name.startsWith('protocol-')) continue;
      const dir = join(workspaceRoot, group, entry.name);
      const manifest = await readFile(join(dir, 'package.json'), 'utf8').catch(() => undefined);
      if (!manifest) continue;
      const pkg = JSON.parse(manifest) as { name: string; version: string; private?: boolean };
      if (pkg.private && group !== 'examples') continue;
      found.push({ name: pkg.name, version: pkg.version, dir, private: pkg.private === true });
    }
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/** The package with this name. */
export async function packageNamed(name: string): Promise<PublishedPackage> {
  const pkg = (await publishedPackages()).find((p) => p.name === name);
  if (!pkg) throw new Error(`no workspace package named ${name}`);
  return pkg;
}
