#!/usr/bin/env node
// `pnpm create-driver NAME [DIR]`: copies tools/create-driver/protocol-driver to DIR (default
// packages/protocol-NAME) with its placeholders replaced. Inside this repository the package
// uses the workspace's presets and `workspace:` ranges; anywhere else it stands alone.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const template = fileURLToPath(new URL('./protocol-driver/', import.meta.url));

/** @param {string} message */
function fail(message) {
  console.error(`create-driver: ${message}`);
  process.exit(1);
}

const [name, target] = process.argv.slice(2);
if (!name || name === '--help' || name === '-h') {
  console.log('usage: pnpm create-driver NAME [DIR]   (NAME: lowercase, e.g. lmtp or sqs-queue)');
  process.exit(name ? 0 : 1);
}
if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(name)) {
  fail(`'${name}' is not a valid driver name: lowercase letters, digits and single dashes`);
}

// pnpm runs scripts from the repository root; INIT_CWD is where the user typed the command.
// biome-ignore lint/suspicious/noUndeclaredEnvVars: a script run by hand, not a turbo task
const cwd = process.env.INIT_CWD ?? process.cwd();
const dest = target ? resolve(cwd, target) : join(repo, 'packages', `protocol-${name}`);
if (existsSync(dest) && (await readdir(dest)).length > 0) fail(`${dest} exists and is not empty`);

const rel = relative(repo, dest);
const inRepo = !rel.startsWith('..');
// Inside the repository the package must sit where pnpm-workspace.yaml looks for packages.
const [group, folder, ...deeper] = rel.split(/[\\/]/);
const workspaceFolder =
  deeper.length === 0 &&
  (group === 'packages' || (group === 'examples' && folder?.startsWith('protocol-')));
if (inRepo && !workspaceFolder) {
  fail(
    `${dest} is inside the repository but not a workspace folder: use packages/protocol-${name}, examples/protocol-${name}, or a path outside the repository`,
  );
}
const firstParty = inRepo && relative(join(repo, 'packages'), dest) === `protocol-${name}`;
const version = (/** @type {string} */ dir) =>
  JSON.parse(readFileSync(join(repo, dir, 'package.json'), 'utf8')).version;
const words = name.split('-');
const camel = words.map((w, i) => (i === 0 ? w : w[0].toUpperCase() + w.slice(1))).join('');
const tokens = {
  __PACKAGE__: firstParty ? `@sterna/protocol-${name}` : `sterna-protocol-${name}`,
  __NAME__: name,
  __KEY__: words.join('_'),
  __CAMEL__: camel,
  __PASCAL__: camel[0].toUpperCase() + camel.slice(1),
  __CORE_RANGE__: inRepo ? 'workspace:^' : `^${version('packages/core')}`,
  __TESTKIT_RANGE__: inRepo ? 'workspace:*' : `^${version('packages/protocol-testkit')}`,
};
const fill = (/** @type {string} */ text) =>
  text.replace(/__[A-Z_]+?__/g, (token) => tokens[/** @type {keyof tokens} */ (token)] ?? token);

// Inside the workspace, tests and type-checks read sibling packages from src/ (no build first).
const workspaceOverrides = {
  'tsconfig.json': `${JSON.stringify({ extends: '@sterna/tsconfig/base.json', compilerOptions: { noEmit: true }, include: ['src', 'test', '*.ts'] }, null, 2)}\n`,
  'vitest.config.ts': "export { default } from '@sterna/vitest-config';\n",
};

/** @param {string} from @param {string} to */
async function copy(from, to) {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const out = join(to, entry.name);
    if (entry.isDirectory()) {
      await copy(source, out);
      continue;
    }
    const rel = relative(template, source);
    let text = fill(await readFile(source, 'utf8'));
    if (inRepo && rel in workspaceOverrides) text = workspaceOverrides[rel];
    if (inRepo && rel === 'package.json') text = workspacePackageJson(text);
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, text);
  }
}

/** @param {string} text */
function workspacePackageJson(text) {
  const pkg = JSON.parse(text);
  pkg.exports['.'] = { '@sterna/source': './src/index.ts', ...pkg.exports['.'] };
  pkg.scripts.lint = 'biome check .';
  for (const dep of ['@types/node', 'typescript']) delete pkg.devDependencies[dep];
  pkg.devDependencies['@sterna/tsconfig'] = 'workspace:*';
  pkg.devDependencies['@sterna/vitest-config'] = 'workspace:*';
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

await copy(template, dest);
console.log(`created ${tokens.__PACKAGE__} in ${dest} (protocol key '${tokens.__KEY__}')`);
console.log(
  inRepo
    ? 'next: npx -y pnpm@12.4.2 install, then in the package: npx vitest run'
    : `next: cd ${relative(cwd, dest) || '.'} && npm install && npm test`,
);
