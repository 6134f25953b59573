#!/usr/bin/env node
// What failed, said last. `pnpm test` runs every package's tests one after another (turbo
// --continue), so a failure in an early package scrolls far up a long log, above everything the
// later packages print; CI shows the log's end. Every vitest run also writes its results as JSON
// (`.test-results/vitest.json` in its package, see tooling/vitest-config); this prints the failed
// tests and their errors from those files.
//
//   node tools/test-results.mjs clean    removes the results of an earlier run
//   node tools/test-results.mjs report   prints the failures and exits 1 (the run failed)
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { stripVTControlCharacters } from 'node:util';

const root = join(import.meta.dirname, '..');
// The workspace's package folders (pnpm-workspace.yaml), one level under each.
const parents = ['apps', 'packages', 'tooling', 'tools', 'examples'];
/** Lines of one error kept: the message and the first frames. */
const ERROR_LINES = 30;

function resultDirs() {
  const dirs = [];
  for (const parent of parents) {
    const at = join(root, parent);
    if (!existsSync(at)) continue;
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const dir = join(at, entry.name, '.test-results');
      if (entry.isDirectory() && existsSync(dir)) dirs.push(dir);
    }
  }
  return dirs;
}

function firstLines(text) {
  // The frames of vitest itself and of Node's promises say nothing of the failure.
  const lines = stripVTControlCharacters(text)
    .split('\n')
    .filter((line) => !/^\s+at .*(node_modules|<anonymous>|node:internal)/.test(line));
  const kept = lines.slice(0, ERROR_LINES);
  if (lines.length > ERROR_LINES) kept.push(`  … ${lines.length - ERROR_LINES} more lines`);
  return kept.map((line) => `    ${line}`).join('\n');
}

function report() {
  let failures = 0;
  for (const dir of resultDirs()) {
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
      let results;
      try {
        results = JSON.parse(readFileSync(join(dir, name), 'utf8'));
      } catch (error) {
        console.log(`${relative(root, join(dir, name))}: unreadable (${error.message})`);
        continue;
      }
      for (const file of results.testResults ?? []) {
        const path = relative(root, file.name);
        const failed = (file.assertionResults ?? []).filter((t) => t.status === 'failed');
        if (failed.length === 0 && file.status === 'failed') {
          // The file itself failed (it did not load, or a hook threw).
          failures++;
          console.log(`\nFAILED ${path}\n${firstLines(file.message || '(no message)')}`);
        }
        for (const test of failed) {
          failures++;
          console.log(`\nFAILED ${path} > ${test.fullName}`);
          for (const message of test.failureMessages ?? []) console.log(firstLines(message));
        }
      }
    }
  }
  if (failures === 0) {
    console.log(
      '\nThe run failed, and no test did: see the lint, typecheck or build output above.',
    );
  } else {
    console.log(`\n${failures} failed test${failures === 1 ? '' : 's'} (above).`);
  }
  process.exitCode = 1;
}

const command = process.argv[2];
if (command === 'clean') {
  for (const dir of resultDirs()) rmSync(dir, { recursive: true, force: true });
} else if (command === 'report') {
  console.log('\n== What failed (tools/test-results.mjs)');
  report();
} else {
  console.error('usage: node tools/test-results.mjs clean|report');
  process.exitCode = 2;
}
