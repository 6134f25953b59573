import { mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/run.js';
import { workspaceRoot } from '../src/workspace.js';

// `pnpm create-driver` scaffolds a driver outside the workspace; the new package type-checks
// and passes the conformance suite against the built @sterna/core and testkit.
const script = join(workspaceRoot, 'tools/create-driver/create-driver.mjs');
const require = createRequire(import.meta.url);
const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`));

let root: string;
let dest: string;
let created: { code: number | null; output: string };
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sterna-create-driver-'));
  dest = join(root, 'protocol-demo-drop');
  created = await run(process.execPath, [script, 'demo-drop', dest], { cwd: root });
  // What `npm install` would provide, linked from the workspace (the packages' built dist/).
  const modules = join(dest, 'node_modules');
  await mkdir(join(modules, '@sterna'), { recursive: true });
  await mkdir(join(modules, '@types'), { recursive: true });
  const links: [string, string][] = [
    ['@sterna/core', join(workspaceRoot, 'packages/core')],
    ['@sterna/protocol-testkit', join(workspaceRoot, 'packages/protocol-testkit')],
    ['zod', packageDir('zod')],
    ['vitest', packageDir('vitest')],
    ['typescript', join(workspaceRoot, 'node_modules/typescript')],
    ['@types/node', join(workspaceRoot, 'node_modules/@types/node')],
  ];
  for (const [name, target] of links) await symlink(target, join(modules, name), 'dir');
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('pnpm create-driver', () => {
  it('copies the template with every placeholder replaced', async () => {
    expect(created.code, created.output).toBe(0);
    expect(created.output).toContain('created sterna-protocol-demo-drop');
    const files = (await readdir(dest, { recursive: true }))
      .filter((f) => !f.startsWith('node_modules'))
      .sort();
    expect(files).toEqual(
      expect.arrayContaining([
        'README.md',
        'package.json',
        'src/index.ts',
        'test/conformance.test.ts',
        'tsconfig.build.json',
        'tsconfig.json',
      ]),
    );
    for (const file of files.filter((f) => f.includes('.'))) {
      expect(await readFile(join(dest, file), 'utf8'), file).not.toMatch(/__[A-Z_]+__/);
    }
    const pkg = JSON.parse(await readFile(join(dest, 'package.json'), 'utf8'));
    expect(pkg.name).toBe('sterna-protocol-demo-drop');
    expect(pkg.peerDependencies).toEqual({ '@sterna/core': '^0.1.0' });
    expect(await readFile(join(dest, 'src/index.ts'), 'utf8')).toContain("protocol: 'demo_drop'");
  });

  it('refuses a bad name and an existing directory', async () => {
    const bad = await run(process.execPath, [script, 'Bad_Name', join(root, 'x')], { cwd: root });
    expect(bad.code).toBe(1);
    expect(bad.output).toContain('not a valid driver name');
    const again = await run(process.execPath, [script, 'demo-drop', dest], { cwd: root });
    expect(again.code).toBe(1);
    expect(again.output).toContain('exists and is not empty');
  });

  it('type-checks and passes its conformance suite', async () => {
    const tsc = await run(
      process.execPath,
      [join(dest, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--noEmit'],
      { cwd: dest },
    );
    expect(tsc.code, tsc.output).toBe(0);
    const vitest = await run(
      process.execPath,
      [join(dest, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=dot'],
      { cwd: dest, timeoutMs: 120_000, env: { CI: '1', NO_COLOR: '1' } },
    );
    expect(vitest.code, vitest.output).toBe(0);
    const passed = /Tests\s+(\d+) passed/.exec(vitest.output);
    expect(Number(passed?.[1]), vitest.output).toBeGreaterThanOrEqual(20);
  });
});
