import Module, { register } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

// The ESM resolve hook, as a module of its own (hooks run on Node's loader thread). A data: URL
// so it ships inside this file, in the sources and in the built package alike.
const HOOK = `let fallback;
export function initialize(data) { fallback = data.fallback; }
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    if (!specifier.startsWith('@sterna/') || context.parentURL === fallback) throw error;
    return next(specifier, { ...context, parentURL: fallback });
  }
}`;

/** The CommonJS loader's internals this patches (stable since Node 0.x, undocumented). */
interface ModuleInternals {
  _resolveFilename(request: unknown, parent: unknown, isMain: boolean, options?: unknown): string;
  _nodeModulePaths(dir: string): string[];
  new (id: string): { filename: string; paths: string[] };
}

let installed: string | undefined;

/**
 * Lets a policy outside the daemon's folders import the daemon's `@sterna/*` packages: a bare
 * `@sterna/…` specifier that does not resolve from the importing file is resolved again as if
 * imported from `fallback` (a file URL in the daemon's install). Both loaders: an ESM resolve
 * hook (`module.register`), and the CommonJS resolver tsx uses for a `.ts` file it compiles
 * to CommonJS (not under a `"type": "module"` package.json), which ESM hooks do not see.
 * Once per thread.
 */
export function installImportFallback(fallback: string): void {
  if (installed !== undefined) {
    if (installed !== fallback) {
      throw new Error(`installImportFallback: already installed for ${installed}`);
    }
    return;
  }
  installed = fallback;
  register(`data:text/javascript,${encodeURIComponent(HOOK)}`, { data: { fallback } });
  const internals = Module as unknown as ModuleInternals;
  const path = fileURLToPath(fallback);
  const parent = new internals(path);
  parent.filename = path;
  parent.paths = internals._nodeModulePaths(dirname(path));
  const original = internals._resolveFilename;
  internals._resolveFilename = function (request, from, isMain, options) {
    try {
      return original.call(this, request, from, isMain, options);
    } catch (error) {
      if (typeof request !== 'string' || !request.startsWith('@sterna/')) throw error;
      return original.call(this, request, parent, isMain, options);
    }
  };
}
