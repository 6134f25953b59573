import { sternaVitestConfig } from '@sterna/vitest-config';

// The reliability and security suites: each starts real daemons and loads them for a while, so
// they run one file at a time (two cores) with long time limits. Sizes: docs/reliability.md.
export default sternaVitestConfig({
  include: ['test/reliability/**/*.test.ts'],
  fileParallelism: false,
  testTimeout: 600_000,
  hookTimeout: 120_000,
  // Each suite prints what it tried and what it found.
  silent: false,
});
