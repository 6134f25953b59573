import { join } from 'node:path';
import { run } from './run.js';
import { workspaceRoot } from './workspace.js';

/** One tool's verdict on a tarball. */
export interface ToolVerdict {
  readonly ok: boolean;
  readonly output: string;
}

/** publint's and attw's verdicts on one packed package. */
export interface TarballVerdict {
  readonly publint: ToolVerdict;
  readonly attw: ToolVerdict;
}

const bin = (name: string) => join(workspaceRoot, 'node_modules', '.bin', name);

/**
 * Runs publint (`--strict`: warnings fail too) and @arethetypeswrong/cli with the ESM-only
 * profile (CommonJS `require` and node10 resolution are out of scope for ESM-only packages) on
 * a tarball, exactly as npm would publish it.
 */
export async function lintTarball(tarball: string): Promise<TarballVerdict> {
  const [publint, attw] = await Promise.all([
    run(bin('publint'), ['run', tarball, '--strict'], { cwd: workspaceRoot }),
    run(bin('attw'), [tarball, '--profile', 'esm-only', '--format', 'ascii'], {
      cwd: workspaceRoot,
    }),
  ]);
  return {
    publint: { ok: publint.code === 0, output: publint.output },
    attw: { ok: attw.code === 0, output: attw.output },
  };
}
