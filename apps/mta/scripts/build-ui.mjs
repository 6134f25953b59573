#!/usr/bin/env node
// Builds the dashboard's browser app (apps/mta/ui) into apps/mta/dist/ui: index.html and
// assets/app.js + app.css (minified, with separate source maps). Runs from any directory.
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = new URL('../', import.meta.url);
const ui = new URL('ui/', root);
const out = new URL('dist/ui/', root);
const assets = new URL('assets/', out);

try {
  await rm(out, { recursive: true, force: true });
  await mkdir(assets, { recursive: true });
  await build({
    entryPoints: { app: fileURLToPath(new URL('src/main.tsx', ui)) },
    outdir: fileURLToPath(assets),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'silent',
    tsconfig: fileURLToPath(new URL('tsconfig.json', ui)),
  });
  await copyFile(new URL('index.html', ui), new URL('index.html', out));
  const size = async (name) => {
    const data = await readFile(new URL(name, assets));
    const kib = (n) => (n / 1024).toFixed(1);
    return `${kib(data.length)} KiB (${kib(gzipSync(data).length)} KiB gzipped)`;
  };
  console.log(
    `dashboard built in ${fileURLToPath(out)}: app.js ${await size('app.js')}, app.css ${await size('app.css')}`,
  );
} catch (error) {
  const messages = error?.errors?.length
    ? error.errors.map((e) => {
        const at = e.location ? `${e.location.file}:${e.location.line}:${e.location.column}: ` : '';
        return `${at}${e.text}`;
      })
    : [error instanceof Error ? error.message : String(error)];
  console.error(`build-ui: ${messages.join('\n')}`);
  process.exit(1);
}
