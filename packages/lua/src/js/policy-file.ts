import { extname } from 'node:path';

/** The extensions of a policy written in TypeScript or JavaScript (anything else is Lua). */
export const JS_POLICY_EXTENSIONS: ReadonlySet<string> = new Set([
  '.ts',
  '.mts',
  '.cts',
  '.js',
  '.mjs',
  '.cjs',
]);

/** Whether `path` names a TypeScript or JavaScript policy, by its extension. */
export function isJsPolicy(path: string): boolean {
  return JS_POLICY_EXTENSIONS.has(extname(path).toLowerCase());
}

/** Whether `path` needs compiling from TypeScript first. */
export function isTypeScriptPolicy(path: string): boolean {
  const ext = extname(path).toLowerCase();
  return ext === '.ts' || ext === '.mts' || ext === '.cts';
}
