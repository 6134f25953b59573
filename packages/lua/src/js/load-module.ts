import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { errorText } from '@sterna/core';
import { isTypeScriptPolicy } from './policy-file.js';

/**
 * Imports the policy module: TypeScript through tsx's `tsImport` (which compiles it, and what
 * it imports, whether this thread runs from sources with tsx registered or from the built
 * package without), JavaScript with `import()`. Settles when the module's top level has run.
 */
export async function importPolicy(path: string): Promise<unknown> {
  const url = pathToFileURL(resolve(path)).href;
  if (isTypeScriptPolicy(path)) {
    const { tsImport } = await import('tsx/esm/api');
    return tsImport(url, { parentURL: url });
  }
  return import(url);
}

interface BuildMessage {
  readonly text: string;
  readonly location?: { readonly file: string; readonly line: number } | null;
}

/**
 * The text of a failure to load the policy, naming the file and line where it can: esbuild's
 * syntax errors (tsx) carry them, V8's from a CommonJS file start the stack with them, a throw
 * at the top level has them in its first frame, and a syntax error in an ES module (which V8
 * reports without a place) is located by parsing the policy file again.
 */
export function describeLoadError(error: unknown, path: string): string {
  const file = resolve(path);
  const built = (error as { errors?: BuildMessage[] } | null)?.errors?.[0];
  if (built?.location) return `${built.location.file}:${built.location.line}: ${built.text}`;
  const message = errorText(error);
  // The same from tsx's loader thread, where the error lost its `errors` on the way: the text.
  const esbuild = /^(.+?):(\d+):\d+: ERROR: (.*)$/m.exec(message);
  if (esbuild && message.startsWith('Transform failed')) {
    return `${esbuild[1]}:${esbuild[2]}: ${esbuild[3]}`;
  }
  const stack = error instanceof Error ? (error.stack ?? '') : '';
  if (error instanceof SyntaxError) {
    // CommonJS: "/path/file.js:2\n<source line>\n   ^\n\nSyntaxError: …".
    const head = /^(\/[^\n]*?|file:\/\/[^\n]*?):(\d+)\n/.exec(stack);
    if (head) return `${pathOf(head[1]!)}:${head[2]}: ${message}`;
    const found = locateSyntaxError(file);
    if (found) return found;
    return `${file}: ${message} (in the policy or a module it imports)`;
  }
  const where = firstFrame(stack);
  return `${where ?? file}: ${message}`;
}

/** `file:line` of the first stack frame in a file (not Node's internals). */
export function firstFrame(stack: string): string | undefined {
  for (const line of stack.split('\n').slice(1)) {
    const m = /(file:\/\/\/[^\s)]+|\/[^\s():]+[^\s)]*?):(\d+):\d+\)?\s*$/.exec(line.trim());
    if (m) return `${pathOf(m[1]!)}:${m[2]}`;
  }
  return undefined;
}

function pathOf(location: string): string {
  const bare = location.replace(/\?[^:]*$/, '');
  return bare.startsWith('file:') ? fileURLToPath(bare) : bare;
}

/**
 * Where the syntax error of `file` is, by esbuild (tsx's parser, found beside tsx): V8 does
 * not say where an ES module's syntax error is. Undefined when it parses, or esbuild is not
 * to be found.
 */
function locateSyntaxError(file: string): string | undefined {
  let source: string;
  let transformSync: (code: string, options: object) => unknown;
  try {
    source = readFileSync(file, 'utf8');
    const tsx = createRequire(import.meta.url).resolve('tsx/esm/api');
    ({ transformSync } = createRequire(tsx)('esbuild') as {
      transformSync: typeof transformSync;
    });
  } catch {
    return undefined;
  }
  const ext = extname(file).toLowerCase();
  try {
    transformSync(source, {
      loader: ext === '.ts' || ext === '.mts' || ext === '.cts' ? 'ts' : 'js',
      sourcefile: file,
    });
    return undefined;
  } catch (error) {
    const built = (error as { errors?: BuildMessage[] }).errors?.[0];
    return built?.location
      ? `${built.location.file}:${built.location.line}: ${built.text}`
      : undefined;
  }
}
