import { hostname } from 'node:os';
import { z } from 'zod';
import { cidrList } from './cidr-list.js';
import {
  count,
  duration,
  keySource,
  luaArray,
  luaTable,
  parseWith,
  throttle,
} from './schema-helpers.js';

const listen = z.string();

/** `kumo.start_esmtp_listener{…}` with KumoMTA's defaults (kumo-reference §5b). */
export const esmtpListenerSchema = z.strictObject({
  listen: listen.default('127.0.0.1:2025'),
  hostname: z.string().default(() => hostname()),
  relay_hosts: cidrList.default(['127.0.0.1', '::1']),
  banner: z.string().default('KumoMTA'),
  max_message_size: count.default(20 * 1024 * 1024),
  max_recipients_per_message: count.default(1024),
  max_messages_per_connection: count.default(10_000),
  max_connections: count.default(32_768),
  client_timeout: duration.default(60),
  data_processing_timeout: duration.default(300),
  data_buffer_size: count.default(131_072),
  line_length_hard_limit: count.default(998),
  invalid_line_endings: z.enum(['Deny', 'Allow', 'Fix']).default('Deny'),
  batch_handling: z.enum(['BifurcateAlways', 'BatchByDomain']).default('BifurcateAlways'),
  trace_headers: z
    .strictObject({
      received_header: z.boolean().default(true),
      supplemental_header: z.boolean().default(true),
      header_name: z.string().default('X-KumoRef'),
      include_meta_names: luaArray(z.string()).default([]),
    })
    .default({
      received_header: true,
      supplemental_header: true,
      header_name: 'X-KumoRef',
      include_meta_names: [],
    }),
  deferred_spool: z.boolean().default(false),
  deferred_queue: z.boolean().default(false),
  tls_certificate: keySource.optional(),
  tls_private_key: keySource.optional(),
  tls_required_client_ca: keySource.optional(),
  allow_xclient: z.boolean().default(false),
  require_proxy_protocol: z.boolean().default(false),
  meta: luaTable.default({}),
  peer: luaTable.default({}),
  via: luaTable.default({}),
});

/** `kumo.start_http_listener{…}` with KumoMTA's defaults. */
export const httpListenerSchema = z.strictObject({
  listen: listen.default('127.0.0.1:8000'),
  hostname: z.string().default(() => hostname()),
  trusted_hosts: cidrList.default(['127.0.0.1', '::1']),
  use_tls: z.boolean().default(false),
  tls_certificate: keySource.optional(),
  tls_private_key: keySource.optional(),
  request_body_limit: count.default(2 * 1024 * 1024),
});

/** `kumo.define_spool{…}`. */
export const spoolSchema = z.strictObject({
  name: z.string(),
  path: z.string(),
  kind: z.enum(['LocalDisk', 'RocksDB']).default('LocalDisk'),
  flush: z.boolean().default(false),
  rocks_params: luaTable.optional(),
  min_free_space: z.union([z.string(), z.number()]).default('10%'),
  min_free_inodes: z.union([z.string(), z.number()]).default('10%'),
});

const perRecord = z.record(
  z.string(),
  z
    .object({
      suffix: z.string().optional(),
      log_dir: z.string().optional(),
      enable: z.boolean().default(true),
      template: z.string().optional(),
      segment_header: z.string().optional(),
    })
    .strict(),
);

/** `kumo.configure_local_logs{…}` (kumo-reference §5b, §7). */
export const localLogsSchema = z.strictObject({
  log_dir: z.string(),
  log_dir_timezone: z.string().optional(),
  max_record_size: count.optional(),
  max_file_size: count.default(1_000_000_000),
  max_segment_duration: duration.optional(),
  compression_level: z.number().int().default(0),
  back_pressure: count.default(128_000),
  meta: luaArray(z.string()).default([]),
  headers: luaArray(z.string()).default([]),
  per_record: perRecord.default({}),
  filter_event: z.string().optional(),
  min_free_space: z.union([z.string(), z.number()]).default('10%'),
  min_free_inodes: z.union([z.string(), z.number()]).default('10%'),
});

/** `kumo.configure_log_hook{…}`. */
export const logHookSchema = z.strictObject({
  name: z.string(),
  back_pressure: count.default(128_000),
  meta: luaArray(z.string()).default([]),
  headers: luaArray(z.string()).default([]),
  per_record: perRecord.default({}),
  deferred_spool: z.boolean().default(false),
});

/** `kumo.dns.configure_resolver{…}`. */
export const dnsResolverSchema = z.strictObject({
  name_servers: luaArray(z.union([z.string(), luaTable])).default([]),
  domain: z.string().optional(),
  search: luaArray(z.string()).default([]),
  options: luaTable.default({}),
});

/**
 * `kumo.dns.set_mx_timeout`, `set_mx_negative_cache_ttl` and `set_mx_concurrency_limit`: each
 * call hands the daemon the one key it sets (durations in seconds).
 */
export const mxResolverSchema = z.strictObject({
  timeout: duration.optional(),
  negative_cache_ttl: duration.optional(),
  concurrency_limit: z.number().int().min(1).optional(),
});

/**
 * One traffic shaping automation rule, as `policy-extras.shaping` read it from a shaping file
 * (`[["gmail.com".automation]]`, `[[provider."yahoo".automation]]`): where it was written, what
 * it matches and what it does. The daemon keeps them; enforcing them is its part.
 */
export const shapingAutomationRuleSchema = z.strictObject({
  /** The kind of section the rule was written in. */
  scope: z.enum(['default', 'domain', 'provider']),
  /** The domain (lower case) or provider name of that section. */
  name: z.string(),
  /** The data file it came from (`<lua table>` for a table given in place of a file). */
  file: z.string(),
  /** For a domain section: whether it applies to the domain's whole site (MX rollup). */
  mx_rollup: z.boolean().optional(),
  /** For a provider section: its match list. */
  match: luaArray(
    z.strictObject({
      MXSuffix: z.string().optional(),
      DomainSuffix: z.string().optional(),
      HostName: z.string().optional(),
    }),
  ).optional(),
  /** The regular expression (Rust regex syntax) tried on delivery responses. */
  regex: z.string(),
  action: z.union([
    z.enum([
      'Suspend',
      'SuspendTenant',
      'SuspendCampaign',
      'Bounce',
      'BounceTenant',
      'BounceCampaign',
    ]),
    z.strictObject({ SetConfig: z.strictObject({ name: z.string(), value: z.unknown() }) }),
    z.strictObject({ SetDomainConfig: z.strictObject({ name: z.string(), value: z.unknown() }) }),
  ]),
  /** `'Immediate'` (each match acts) or `{ Threshold: '10/hr' }`. @default 'Immediate' */
  trigger: z
    .union([z.literal('Immediate'), z.strictObject({ Threshold: throttle })])
    .default('Immediate'),
  /** How long the action's effect lasts, in seconds. */
  duration,
  /** Whether responses starting `KumoMTA internal: ` may match. @default false */
  match_internal: z.boolean().default(false),
});

/** One traffic shaping automation rule, its `duration` in seconds. */
export type ShapingAutomationRule = z.output<typeof shapingAutomationRuleSchema>;

/**
 * The rules the policy's `sterna.shaping_automation_rules` event returned (a Lua list, `{}`
 * when empty), validated as at `pre_init`, durations in seconds. The daemon calls the event
 * after each configuration reload.
 *
 * @throws SternaError `STERNA_LUA_CONFIG_INVALID` naming the bad rule and key.
 */
export function parseShapingAutomationRules(value: unknown): ShapingAutomationRule[] {
  return parseWith(luaArray(shapingAutomationRuleSchema), value ?? [], 'policy-extras.shaping');
}

/**
 * `redis.open{…}` / `kumo.redis.open{…}`'s table (KumoMTA's parameters): `node` is a redis URL,
 * or a list of them for a cluster; durations in seconds.
 */
export const redisParamsSchema = z.strictObject({
  node: z.union([
    z.string(),
    luaArray(z.string()).refine((nodes) => nodes.length > 0, 'no node given'),
  ]),
  pool_size: count.default(10),
  read_from_replicas: z.boolean().default(false),
  username: z.string().optional(),
  password: z.string().optional(),
  connect_timeout: duration.default(30),
  wait_timeout: duration.default(30),
  response_timeout: duration.optional(),
  recycle_timeout: duration.optional(),
  cluster: z.boolean().optional(),
});

/** A redis connection's parameters, parsed (durations in seconds). */
export type RedisParams = z.output<typeof redisParamsSchema>;

/**
 * `kumo.configure_redis_throttles{…}`: the redis parameters, and Sterna's own two keys — how long
 * a shared connection lease lasts unless its node renews it (a dead node's connections are free
 * again after this), and whether admin suspensions, bounces and automation results are shared
 * through the same redis (on by default: a fleet that shares its limits shares its levers).
 */
export const redisThrottlesSchema = redisParamsSchema.extend({
  connection_lease_duration: duration.default(60),
  share_admin_state: z.boolean().default(true),
});

/** The schema of each configuration call the runtime hands to the daemon. */
export const CONFIG_SCHEMAS = {
  esmtp_listener: esmtpListenerSchema,
  http_listener: httpListenerSchema,
  spool: spoolSchema,
  local_logs: localLogsSchema,
  log_hook: logHookSchema,
  dns_resolver: dnsResolverSchema,
  mx_resolver: mxResolverSchema,
  bounce_classifier: z.strictObject({
    files: luaArray(z.string()).default([]),
    // KumoMTA's tuning of its classifier threads: accepted; Sterna classifies on the daemon's thread.
    back_pressure: z.number().int().positive().optional(),
    pool_size: z.number().int().positive().optional(),
    /** Classifications remembered (matches). @default 1024 */
    cache_size: z.number().int().nonnegative().default(1024),
    /** Responses remembered as matching no rule. @default 1024 */
    uncategorized_cache_size: z.number().int().nonnegative().default(1024),
  }),
  accounting_db_path: z.strictObject({ path: z.string() }),
  diagnostic_log_filter: z.strictObject({ filter: z.string() }),
  config_monitor_globs: z.strictObject({ globs: luaArray(z.string()) }),
  config_epoch_bump: z.strictObject({}),
  validation_failed: z.strictObject({}),
  shaping_automation: z.strictObject({ rules: luaArray(shapingAutomationRuleSchema).default([]) }),
  redis_throttles: redisThrottlesSchema,
} as const;

/** The kinds of configuration call (`host.configure(kind, params)`). */
export type ConfigKind = keyof typeof CONFIG_SCHEMAS;

/** The parsed parameters of each configuration call, defaults applied, durations in seconds. */
export type ConfigParams = { [K in ConfigKind]: z.output<(typeof CONFIG_SCHEMAS)[K]> };

/** The `kumo.*` function that makes each configuration call, for error texts. */
export const CONFIG_FUNCTIONS: Readonly<Record<ConfigKind, string>> = {
  esmtp_listener: 'kumo.start_esmtp_listener',
  http_listener: 'kumo.start_http_listener',
  spool: 'kumo.define_spool',
  local_logs: 'kumo.configure_local_logs',
  log_hook: 'kumo.configure_log_hook',
  dns_resolver: 'kumo.dns.configure_resolver',
  mx_resolver: 'kumo.dns.set_mx_*',
  bounce_classifier: 'kumo.configure_bounce_classifier',
  accounting_db_path: 'kumo.configure_accounting_db_path',
  diagnostic_log_filter: 'kumo.set_diagnostic_log_filter',
  config_monitor_globs: 'kumo.set_config_monitor_globs',
  config_epoch_bump: 'kumo.bump_config_epoch',
  validation_failed: 'kumo.validation_failed',
  shaping_automation: 'policy-extras.shaping',
  redis_throttles: 'kumo.configure_redis_throttles',
};

/**
 * Parses the table of a configuration call (`kumo.start_esmtp_listener{…}` → `'esmtp_listener'`)
 * with KumoMTA's defaults, durations in seconds. The runtime does this before calling
 * `host.configure`; exported for daemons and tools that read such tables themselves.
 *
 * @throws SternaError `STERNA_LUA_CONFIG_INVALID` naming the bad key.
 */
export function parseConfigParams<K extends ConfigKind>(kind: K, table: unknown): ConfigParams[K] {
  return parseWith(CONFIG_SCHEMAS[kind], table, CONFIG_FUNCTIONS[kind]) as ConfigParams[K];
}
