import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyRuntime, type PolicyRuntimeOptions } from '../src/index.js';

/**
 * Where a test policy's `@sterna/…` imports resolve when its temp folder has no node_modules:
 * this package (it depends on `@sterna/core` and can import itself as `@sterna/lua`).
 */
export const FALLBACK = new URL('../package.json', import.meta.url).href;

/**
 * The top of an ES module test policy: `on` registers on the bridge as `@sterna/policy`'s does
 * (that package is not a dependency of this one), `reject`/`disconnect` throw its rejection.
 */
export const ESM_PRELUDE = `import { policyBridge, PolicyRejection } from '@sterna/lua';
const on = (event, fn) => {
  const bridge = policyBridge();
  const list = bridge.handlers.get(event) ?? [];
  list.push(fn);
  bridge.handlers.set(event, list);
};
const reject = (code, text) => { throw new PolicyRejection(code, text); };
const disconnect = (code, text, how) => { throw new PolicyRejection(code, text, how ?? 'ForceDisconnect'); };
`;

/** Writes `files` into a fresh temp folder; returns its path. */
export function tempPolicyDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sterna-js-policy-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/**
 * Starts a pool of one worker (no spare unless asked) on a policy file written to a temp
 * folder as `name`, with the import fallback set.
 */
export async function startPolicy(
  name: string,
  source: string,
  options: Partial<PolicyRuntimeOptions> = {},
): Promise<{ runtime: PolicyRuntime; path: string; dir: string }> {
  const dir = tempPolicyDir({ [name]: source });
  const path = join(dir, name);
  const runtime = await PolicyRuntime.start({
    poolSize: 1,
    spare: false,
    importFallback: FALLBACK,
    ...options,
    policy: path,
  });
  return { runtime, path, dir };
}

/** The error a promise rejects with; throws when it resolves. */
export async function failure(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected the promise to reject');
}
