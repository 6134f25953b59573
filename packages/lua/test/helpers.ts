import { fileURLToPath } from 'node:url';
import type { ConfigKind } from '../src/config/config-params.js';
import { LuaContext, policyDirOf } from '../src/context/lua-context.js';
import type { LogLevel } from '../src/host/host-calls.js';
import { inProcessHost } from '../src/pool/daemon-handlers.js';

/**
 * Absolute path of a fixture policy. `seed-<example>.lua` is the seed's policy as the repository's
 * examples ship it (`examples/<example>/seed.lua`), so the examples are what these tests load.
 */
export function fixture(name: string): string {
  const seed = /^seed-([a-z]+)\.lua$/.exec(name);
  if (seed) return fileURLToPath(new URL(`../../../examples/${seed[1]}/seed.lua`, import.meta.url));
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

/** A host that records what the policy sent it. */
export function recordingHost() {
  const printed: string[] = [];
  const logged: [LogLevel, string][] = [];
  const configured: [ConfigKind, unknown][] = [];
  // The daemon's own handlers, in-process; no resolver, so DNS look-ups raise.
  const host = inProcessHost({
    print: (text) => printed.push(text),
    log: (level, text) => logged.push([level, text]),
    configure: async (kind, params) => {
      configured.push([kind, params]);
    },
  });
  return { host, printed, logged, configured };
}

/** An in-process context with a fixture loaded (no worker: the unit tests' fast path). */
export async function loadedContext(name: string, host = recordingHost().host) {
  const path = fixture(name);
  const context = await LuaContext.create(host, {
    policyDir: policyDirOf(path),
    memoryMax: 64 * 1024 * 1024,
  });
  const loaded = await context.load(path, Date.now() + 5000);
  if (loaded.status !== 'ok')
    throw new Error(`fixture ${name} failed to load: ${JSON.stringify(loaded)}`);
  return context;
}

/** A deadline `ms` from now. */
export const inMs = (ms: number) => Date.now() + ms;
