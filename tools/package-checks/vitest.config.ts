import { sternaVitestConfig } from '@sterna/vitest-config';

// Packing, npm install and starting the packed daemon take seconds each, not milliseconds.
export default sternaVitestConfig({ testTimeout: 240_000, hookTimeout: 300_000 });
