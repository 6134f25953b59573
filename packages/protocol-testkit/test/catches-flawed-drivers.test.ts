import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

// A suite that cannot fail is worthless: run it against drivers broken on purpose, in a
// separate vitest process, and check that exactly the right tests fail.
interface Assertion {
  title: string;
  fullName: string;
  status: string;
}
interface FileResult {
  name: string;
  assertionResults: Assertion[];
}

const root = fileURLToPath(new URL('..', import.meta.url));
const vitestBin = join(
  createRequire(import.meta.url).resolve('vitest/package.json'),
  '..',
  'vitest.mjs',
);
let files: FileResult[] = [];

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'testkit-'));
  const out = join(dir, 'results.json');
  try {
    await promisify(execFile)(
      process.execPath,
      [
        vitestBin,
        'run',
        '--config',
        'test/fixtures/vitest.config.ts',
        '--reporter=json',
        `--outputFile=${out}`,
      ],
      { cwd: root, env: { ...process.env, CI: 'true' } },
    ).catch((error: { code?: number }) => {
      if (error.code !== 1) throw error; // 1: some tests failed, as intended
    });
    files = (JSON.parse(await readFile(out, 'utf8')) as { testResults: FileResult[] }).testResults;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 120_000);

function failuresOf(flaw: string): string[] {
  const file = files.find((f) => f.name.endsWith(`flawed-${flaw}.fixture.ts`));
  if (!file) throw new Error(`no results for ${flaw}`);
  return file.assertionResults.filter((a) => a.status === 'failed').map((a) => a.title);
}

function passesOf(flaw: string): number {
  return files
    .find((f) => f.name.endsWith(`flawed-${flaw}.fixture.ts`))!
    .assertionResults.filter((a) => a.status === 'passed').length;
}

describe('the conformance suite catches flawed drivers', () => {
  it('a driver that reports delivered for a 550', () => {
    expect(failuresOf('deliveredOn550').sort()).toEqual(
      [
        'classifies each recipient of a mixed message on its own',
        'reports a permanent refusal as permanent with a 5xx code and does not deliver it',
      ].sort(),
    );
    expect(passesOf('deliveredOn550')).toBeGreaterThan(15);
  });

  it('a driver whose close throws the second time', () => {
    expect(failuresOf('closeThrowsTwice').sort()).toEqual([
      'closes concurrently without error',
      'closes more than once without error',
    ]);
  });

  it('a driver that keeps sending after close', () => {
    expect(failuresOf('sendsAfterClose')).toEqual(['delivers nothing after close']);
  });
});
