import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The names a module re-exports by name (`export { a, type B } from …`), types included.
function exportedNames(file: string): string[] {
  const source = readFileSync(new URL(file, import.meta.url), 'utf8');
  return [...source.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)].flatMap((m) =>
    m[1]!
      .split(',')
      .map((name) => name.trim().replace(/^type\s+/, ''))
      .filter(Boolean),
  );
}

// The names in the first column of the README table under `heading`.
function documentedNames(heading: string): string[] {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith(heading));
  if (!section) throw new Error(`README has no section '${heading}'`);
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => [...line.split('|')[1]!.matchAll(/`([A-Za-z_]\w*)/g)].map((m) => m[1]!));
}

const driverFace = exportedNames('./index.ts');
const engineFace = exportedNames('./engine.ts');

describe("core's two faces", () => {
  it('puts every export in exactly one face', () => {
    expect(new Set(driverFace).size).toBe(driverFace.length);
    expect(new Set(engineFace).size).toBe(engineFace.length);
    expect(driverFace.filter((name) => engineFace.includes(name))).toEqual([]);
  });

  it('documents each face in the README, and nothing else', () => {
    expect(documentedNames('Driver face').sort()).toEqual([...driverFace].sort());
    expect(documentedNames('Engine face').sort()).toEqual([...engineFace].sort());
  });
});
