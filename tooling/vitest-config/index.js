// Tests run against `src/` of workspace packages (the `@sterna/source` export condition),
// so no build is needed before `vitest`; published consumers resolve `dist/`.
import { defineConfig } from 'vitest/config';

const conditions = ['@sterna/source', 'node', 'import', 'module', 'default'];

/** @param {import('vitest/config').ViteUserConfig['test']} [test] */
export function sternaVitestConfig(test = {}) {
  return defineConfig({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['@sterna/source'] } },
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: 20_000,
      hookTimeout: 20_000,
      ...test,
    },
  });
}

export default sternaVitestConfig();
