/**
 * The `kumo` module as policies see it, one file per KumoMTA module (`kumo.dns`, `kumo.http`,
 * `kumo.serde`, `kumo.string`, `kumo.digest`, `kumo.encode`, `kumo.cidr`, `kumo.dkim`, …) plus
 * the top-level functions and the Lua standard library bridges: the host functions behind each.
 * @module
 */
export { cidrFunctions } from './cidr.js';
export { codecFunctions } from './codec-functions.js';
export { dkimFunctions } from './dkim-functions.js';
export { hostFunctions, noteConfigEpochBump } from './host-functions.js';
export { lookupAddresses, lookupMxTable } from './mx-table.js';
export { regexFunctions } from './regex-functions.js';
export { serdeFunctions } from './serde-functions.js';
export { stringFunctions } from './string-functions.js';

/** The Lua side of the kumo modules, in the order a context runs them (io last). */
export const KUMO_LUA: readonly URL[] = [
  'top-level',
  'memoize',
  'serde',
  'dns',
  'uuid',
  'string',
  'http',
  'encode',
  'digest',
  'secrets',
  'cidr',
  'domain-map',
  'regex',
  'dkim',
  'tuning',
  'traceback',
  'tasks',
  'bounce',
  'throttle',
  'redis',
  'amqp',
  'nats',
  'kafka',
  'io',
].map((name) => new URL(`./${name}.lua`, import.meta.url));
