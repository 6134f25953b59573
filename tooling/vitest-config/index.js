// Tests run against `src/` of workspace packages (the `@sterna/source` export condition),
// so no build is needed before `vitest`; published consumers resolve `dist/`.
import { defineConfig } from 'vitest/config';

// No 'import' here: Vite adds it (or 'require') by how a module is loaded, while listing it
// would also apply it to require() calls in CommonJS dependencies, handing them a package's ESM
// entry instead (@fastify/websocket's require('ws') got ws's wrapper, which has no Server).
const conditions = ['@sterna/source', 'node', 'module', 'default'];

/** @param {import('vitest/config').ViteUserConfig['test']} [test] */
export function sternaVitestConfig(test = {}) {
  return defineConfig({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['@sterna/source'] } },
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      // Generous: a limit only ends a test that hangs. On a loaded 2-core machine, a test that
      // starts a Lua policy runtime (a worker thread and a VM compile per context) took up to
      // 17 s of the former 20 s.
      testTimeout: 60_000,
      hookTimeout: 60_000,
      // The results as JSON too, for `node tools/test-results.mjs report`: `pnpm test` prints
      // what failed at the end of its log, where CI shows it.
      reporters: ['default', 'json'],
      outputFile: { json: '.test-results/vitest.json' },
      ...test,
    },
  });
}

export default sternaVitestConfig();
