export { SPOOL_ERROR_CODES, type SpoolErrorCode } from './errors.js';
export { HoldingSpool } from './holding.js';
export { openSpool } from './local-spool.js';
export type { Spool, SpoolEntry, SpoolOptions, SpoolStats } from './types.js';
