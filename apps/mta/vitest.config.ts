import { sternaVitestConfig } from '@sterna/vitest-config';

// The reliability suites (test/reliability) take minutes; they run through
// vitest.reliability.config.ts (`pnpm test:reliability`), not with the unit and e2e tests.
export default sternaVitestConfig({ exclude: ['test/reliability/**', '**/node_modules/**'] });
