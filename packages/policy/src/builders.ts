/**
 * The tables a handler returns to the daemon, built and checked: `makeQueueConfig` for
 * `get_queue_config`, `makeEgressPath` for `get_egress_path_config`, `makeEgressPool` and
 * `makeEgressSource` for `get_egress_pool` / `get_egress_source`, `makeListenerDomain` for
 * `get_listener_domain`. Keys are KumoMTA's (snake_case), so a Lua table or a TOML section
 * carries over as it is; a misspelled key is a compile error and, from JavaScript, a runtime
 * error naming the key.
 * @module
 */
import {
  egressPathSchema,
  egressPoolSchema,
  egressSourceSchema,
  listenerDomainSchema,
  parseWith,
  queueConfigSchema,
} from '@sterna/lua';
import type { TableOf } from './table-types.js';

/** `makeQueueConfig`'s table: KumoMTA's queue keys (`retry_interval`, `egress_pool`, `protocol`…). */
export type QueueConfigParams = TableOf<typeof queueConfigSchema>;
/** `makeEgressPath`'s table: KumoMTA's egress path keys (`connection_limit`, `enable_tls`…). */
export type EgressPathParams = TableOf<typeof egressPathSchema>;
/** `makeEgressPool`'s table: `{ name, entries: [{ name, weight }], ttl }`. */
export type EgressPoolParams = TableOf<typeof egressPoolSchema>;
/** `makeEgressSource`'s table: `{ name, source_address, ehlo_domain, … }`. */
export type EgressSourceParams = TableOf<typeof egressSourceSchema>;
/** `makeListenerDomain`'s table: `{ relay_to, relay_from, log_oob, log_arf, … }`. */
export type ListenerDomainParams = TableOf<typeof listenerDomainSchema>;

/**
 * A queue's configuration (`kumo.make_queue_config`), for `get_queue_config` to return.
 * Checked now, so a bad key fails where it is written; returned as given, since the daemon
 * parses the returned table exactly as it parses a Lua policy's (defaults, durations).
 *
 * @throws SternaError `STERNA_LUA_CONFIG_INVALID` naming `makeQueueConfig` and the bad key.
 */
export function makeQueueConfig(params: QueueConfigParams): QueueConfigParams {
  parseWith(queueConfigSchema, params, 'makeQueueConfig');
  return params;
}

/**
 * An egress path's configuration (`kumo.make_egress_path`), for `get_egress_path_config`.
 *
 * @throws SternaError `STERNA_LUA_CONFIG_INVALID` naming `makeEgressPath` and the bad key.
 */
export function makeEgressPath(params: EgressPathParams): EgressPathParams {
  parseWith(egressPathSchema, params, 'makeEgressPath');
  return params;
}

/**
 * An egress pool (`kumo.make_egress_pool`): weighted sources, for `get_egress_pool`.
 *
 * @throws SternaError `STERNA_LUA_CONFIG_INVALID` naming `makeEgressPool` and the bad key.
 */
export function makeEgressPool(params: EgressPoolParams): EgressPoolParams {
  parseWith(egressPoolSchema, params, 'makeEgressPool');
  return params;
}

/**
 * An egress source (`kumo.make_egress_source`): the address and name to send from, for
 * `get_egress_source`.
 *
 * @throws SternaError `STERNA_LUA_CONFIG_INVALID` naming `makeEgressSource` and the bad key.
 */
export function makeEgressSource(params: EgressSourceParams): EgressSourceParams {
  parseWith(egressSourceSchema, params, 'makeEgressSource');
  return params;
}

/**
 * A listener domain's relay and feedback settings (`kumo.make_listener_domain`), for
 * `get_listener_domain`.
 *
 * @throws SternaError `STERNA_LUA_CONFIG_INVALID` naming `makeListenerDomain` and the bad key.
 */
export function makeListenerDomain(params: ListenerDomainParams): ListenerDomainParams {
  parseWith(listenerDomainSchema, params, 'makeListenerDomain');
  return params;
}
