import { readdir, readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join } from 'node:path';

const SPECIFIER =
  /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s*['"]([^'"]+)['"]/gm;

/**
 * Comments out of built JavaScript: block comments and whole-line `//` comments (a comment
 * such as "import them from '@sterna/core/engine'" is prose, not an import).
 */
export function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^[ \t]*\/\/[^\n]*$/gm, '');
}

/** The package a bare specifier names: `zod`, `@scope/pkg` (subpaths dropped). */
export function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

/**
 * The packages the built JavaScript of a package imports (static imports, re-exports and literal
 * dynamic imports), without relative paths and Node's built-ins.
 */
export async function importedPackages(distDir: string): Promise<string[]> {
  const found = new Set<string>();
  const builtins = new Set(builtinModules);
  for (const file of await readdir(distDir, { recursive: true })) {
    if (!file.endsWith('.js')) continue;
    const text = withoutComments(await readFile(join(distDir, file), 'utf8'));
    for (const m of text.matchAll(SPECIFIER)) {
      const specifier = m[1] ?? m[2] ?? m[3];
      if (!specifier || specifier.startsWith('.') || specifier.startsWith('node:')) continue;
      const name = packageOf(specifier);
      if (!builtins.has(name)) found.add(name);
    }
  }
  return [...found].sort();
}
