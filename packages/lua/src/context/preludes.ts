import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KUMO_LUA } from '../kumo/index.js';
import { MESSAGE_LUA } from '../message/index.js';

/** One Lua file of the runtime, read and named for Lua's error messages. */
export interface LuaChunk {
  /** `@@sterna/lua/kumo/dns.lua`: what Lua prints before a line number. */
  readonly name: string;
  readonly text: string;
}

// Messages first (the dispatcher wraps arguments into message objects), then the dispatcher,
// then the kumo modules in the order they build on each other (io last: it registers them
// for `require`).
const FILES: readonly URL[] = [
  ...MESSAGE_LUA,
  new URL('./dispatch.lua', import.meta.url),
  ...KUMO_LUA,
];

let chunks: readonly LuaChunk[] | undefined;

/**
 * The folder that holds `policy-extras/`, Sterna's own implementation of KumoMTA's helper
 * modules (`require 'policy-extras.queue'` and the others), beside this file's folder in `src/`
 * and `dist/` alike.
 */
export const POLICY_EXTRAS_ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(
  /[\\/]$/,
  '',
);

/**
 * The runtime's Lua files in the order a context runs them, each called with
 * `(H, kumo, internal, policy_dir, extras_root)`. They sit beside the modules that list them: in `src/` when
 * running from sources, in `dist/` (copied by the build) when running the built package.
 */
export function preludeChunks(): readonly LuaChunk[] {
  chunks ??= FILES.map((url) => {
    const path = fileURLToPath(url);
    return {
      name: `@@sterna/lua/${basename(dirname(path))}/${basename(path)}`,
      text: readFileSync(path, 'utf8'),
    };
  });
  return chunks;
}
