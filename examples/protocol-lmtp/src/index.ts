/**
 * sterna-protocol-lmtp: an example third-party Sterna protocol driver that delivers over LMTP,
 * written against `@sterna/core` alone.
 * @packageDocumentation
 */
export { LmtpConnection, type TransactionTimeouts } from './connection.js';
export { dotStuff } from './dot-stuff.js';
export { lmtpDriver, lmtpDriver as default } from './driver.js';
export {
  endpointName,
  endpointOf,
  type LmtpEndpoint,
  type LmtpOptions,
  lmtpOptionsSchema,
} from './options.js';
