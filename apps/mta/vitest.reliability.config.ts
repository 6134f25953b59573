import { sternaVitestConfig } from '@sterna/vitest-config';

// A longer soak (RELIABILITY_PEERS_SOAK_SECONDS) needs a longer per-test limit.
const soak = Number(process.env.RELIABILITY_PEERS_SOAK_SECONDS ?? 60) || 60;

// The reliability and security suites: each starts real daemons and loads them for a while, so
// they run one file at a time (two cores) with long time limits. Sizes: docs/reliability.md.
export default sternaVitestConfig({
  include: ['test/reliability/**/*.test.ts'],
  fileParallelism: false,
  testTimeout: Math.max(600_000, (soak + 300) * 1000),
  hookTimeout: 120_000,
  // Each suite prints what it tried and what it found.
  silent: false,
  // Not over the unit and e2e tests' results (tools/test-results.mjs reads both).
  outputFile: { json: '.test-results/reliability.json' },
});
