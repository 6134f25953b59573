import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The shape of packages/lua/src, checked: no import cycle between files, and arrows between
// folders one way only (pool → context → kumo → message → host → config → shared; threads
// stands alone). A file may import its own folder freely; a folder may not import one that
// imports it, directly or through others.

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

// Static imports and re-exports (`import … from`, `export … from`, `import '…'`), type-only
// ones included: a type cycle is still a cycle for a reader. Dynamic `import()` counts too.
const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const spec = match[1] ?? match[2] ?? match[3];
    if (!spec?.startsWith('.')) continue;
    const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
    // Tests import helpers from packages/lua/test: outside src, outside the rule.
    if (target.startsWith(SRC)) out.push(target);
  }
  return out;
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const name = (file: string) => relative(SRC, file);
const folderOf = (file: string) => {
  const parts = name(file).split('/');
  return parts.length > 1 ? parts[0]! : '.';
};

/** The first cycle found in `edges`, as a path that ends where it starts; undefined if none. */
function findCycle(edges: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'open');
    path.push(node);
    for (const next of edges.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of edges.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('packages/lua/src architecture', () => {
  it('every import resolves to a file in src (the parser sees what the compiler sees)', () => {
    const missing = [...graph].flatMap(([from, targets]) =>
      targets.filter((t) => !graph.has(t)).map((t) => `${name(from)} → ${name(t)}`),
    );
    expect(missing).toEqual([]);
    expect(files.length).toBeGreaterThan(30);
  });

  it('has no import cycle between files', () => {
    expect(findCycle(graph)?.map(name)).toBeUndefined();
  });

  it('imports no folder that imports the importing file’s folder', () => {
    const folders = new Map<string, Set<string>>();
    const why = new Map<string, string>();
    for (const [from, targets] of graph) {
      for (const to of targets) {
        const a = folderOf(from);
        const b = folderOf(to);
        if (a === b) continue;
        if (!folders.has(a)) folders.set(a, new Set());
        folders.get(a)!.add(b);
        why.set(`${a}→${b}`, `${name(from)} imports ${name(to)}`);
      }
    }
    const both = [...folders].flatMap(([a, targets]) =>
      [...targets]
        .filter((b) => folders.get(b)?.has(a) && a < b)
        .map((b) => `${why.get(`${a}→${b}`)}, and ${why.get(`${b}→${a}`)}`),
    );
    expect(both).toEqual([]);
    // Longer loops (a → b → c → a) break the direction as surely as two-way arrows.
    const edges = new Map([...folders].map(([a, targets]) => [a, [...targets]]));
    expect(findCycle(edges)).toBeUndefined();
  });

  it('each folder has an index.ts that opens by saying what lives there', () => {
    // policy-extras holds only Lua (the helper modules policies require), said in its README.
    const hasTypeScript = (f: string) => readdirSync(join(SRC, f)).some((n) => n.endsWith('.ts'));
    const folders = readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory());
    const silent = folders
      .map((f) => f.name)
      .filter((f) => hasTypeScript(f) || !existsSync(join(SRC, f, 'README.md')))
      .filter((f) => {
        let text: string;
        try {
          text = readFileSync(join(SRC, f, 'index.ts'), 'utf8');
        } catch {
          return true;
        }
        return !/^\/\*\*\s*\n?\s*\*?\s*\S/.test(text);
      });
    expect(silent).toEqual([]);
  });
});
