import type { ViteUserConfig } from 'vitest/config';
/** A vitest config for a Sterna package; `test` options are merged over the preset. */
export declare function sternaVitestConfig(test?: ViteUserConfig['test']): ViteUserConfig;
declare const config: ViteUserConfig;
export default config;
