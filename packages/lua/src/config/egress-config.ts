import { readFileSync } from 'node:fs';
import type { EgressPathConfig } from '@sterna/core';
import { DEFAULT_EGRESS_PATH as D, exactJson } from '@sterna/core/engine';
import { z } from 'zod';
import { cidrList } from './cidr-list.js';
import {
  count,
  duration,
  keySource,
  luaArray,
  namedMap,
  parseWith,
  throttle,
} from './schema-helpers.js';

// A KeySource as KumoMTA reads it: a string is the path of a file holding the key, a table
// gives it inline (`key_data`); vault sources are not supported yet.
const keyText = keySource.transform((k, ctx) => {
  if (typeof k === 'string') {
    try {
      return readFileSync(k, 'utf8');
    } catch (error) {
      // Neither the string nor Node's message (which repeats it) is echoed: an operator who
      // put the secret itself here by mistake would find it in every log line otherwise.
      const code = (error as { code?: string }).code ?? 'error';
      ctx.issues.push({
        code: 'custom',
        message: `cannot read key file (${code}); a string names a file — give the key itself as { key_data = '…' }`,
        input: undefined,
      });
      return z.NEVER;
    }
  }
  if (typeof k.key_data === 'string') return k.key_data;
  ctx.issues.push({
    code: 'custom',
    message: 'expected a file path or { key_data = ... } (vault key sources are not supported yet)',
    input: k,
  });
  return z.NEVER;
});

/**
 * A connection limit as KumoMTA writes it: a whole number, or a string with digit separators
 * (`'1,000'`, `'1_000'`) and an optional `local:` prefix (`'local:20'`), which keeps the limit
 * on this node even when limits are shared through redis.
 */
const connectionLimit = z.unknown().transform((input, ctx) => {
  const local = typeof input === 'string' && /^\s*local:/.test(input);
  const parsed = count.safeParse(input);
  if (parsed.success) return { limit: parsed.data, local };
  for (const issue of parsed.error.issues)
    ctx.issues.push({ code: 'custom', message: issue.message, input });
  return z.NEVER;
});

/** The names of a map of connection limits written `'local:N'`; undefined when none is. */
function localNames(
  limits: Readonly<Record<string, { readonly local: boolean }>> | undefined,
): string[] | undefined {
  const names = Object.entries(limits ?? {})
    .filter(([, limit]) => limit.local)
    .map(([name]) => name);
  return names.length > 0 ? names : undefined;
}

/**
 * `kumo.make_egress_path{…}`: every key KumoMTA accepts (kumo-reference §9); keys Sterna does
 * not act on yet are accepted and dropped (docs/policy-api.md lists them). Throttles
 * (`max_message_rate`, `max_connection_rate`, `source_selection_rate` and the values of the
 * `additional_*` maps) are checked with core's `parseThrottleSpec` and kept as written.
 */
export const egressPathSchema = z
  .strictObject({
    connection_limit: connectionLimit.default({ limit: D.connection_limit, local: false }),
    max_deliveries_per_connection: count.default(D.max_deliveries_per_connection),
    max_recipients_per_batch: count.default(D.max_recipients_per_batch),
    max_ready: count.default(D.max_ready),
    max_message_rate: throttle.optional(),
    max_connection_rate: throttle.optional(),
    additional_connection_limits: namedMap(connectionLimit, 'connection limits').optional(),
    additional_message_rate_throttles: namedMap(throttle, 'throttle specs').optional(),
    source_selection_rate: throttle.optional(),
    additional_source_selection_rates: namedMap(throttle, 'throttle specs').optional(),
    enable_tls: z
      .enum(['Opportunistic', 'OpportunisticInsecure', 'Required', 'RequiredInsecure', 'Disabled'])
      .default(D.enable_tls),
    enable_mta_sts: z.boolean().default(true),
    enable_dane: z.boolean().default(false),
    enable_pipelining: z.boolean().default(D.enable_pipelining),
    enable_rset: z.boolean().default(D.enable_rset),
    smtp_port: z.number().int().min(1).max(65_535).default(D.smtp_port),
    ehlo_domain: z.string().optional(),
    prohibited_hosts: cidrList.default([...D.prohibited_hosts]),
    skip_hosts: cidrList.default([]),
    ip_lookup_strategy: z
      .enum(['Ipv4AndIpv6', 'Ipv4Only', 'Ipv6Only', 'Ipv6ThenIpv4', 'Ipv4ThenIpv6'])
      .default(D.ip_lookup_strategy),
    reconnect_strategy: z
      .enum(['ConnectNextHost', 'TerminateSession', 'ReconnectSameHost'])
      .default(D.reconnect_strategy),
    try_next_host_on_transport_error: z.boolean().default(false),
    opportunistic_tls_reconnect_on_failed_handshake: z.boolean().default(false),
    remember_broken_tls: duration.optional(),
    consecutive_connection_failures_before_delay: count.optional(),
    use_lmtp: z.boolean().default(false),
    smtp_auth_plain_username: z.string().optional(),
    smtp_auth_plain_password: keyText.optional(),
    allow_smtp_auth_plain_without_tls: z.boolean().default(false),
    allow_smtp_auth_plain_without_valid_certificate: z.boolean().optional(),
    tls_certificate: keyText.optional(),
    tls_private_key: keyText.optional(),
    tls_prefer_openssl: z.boolean().optional(),
    openssl_cipher_list: z.string().optional(),
    openssl_cipher_suites: z.string().optional(),
    openssl_options: z.string().optional(),
    rustls_cipher_suites: luaArray(z.string()).optional(),
    refresh_interval: duration.optional(),
    refresh_strategy: z.enum(['Ttl', 'Epoch']).optional(),
    provider_name: z.string().optional(),
    readyq_pool_name: z.string().optional(),
    low_memory_reduction_policy: z.string().optional(),
    no_memory_reduction_policy: z.string().optional(),
    dispatcher_wakeup_strategy: z.string().optional(),
    maintainer_wakeup_strategy: z.string().optional(),
    ignore_8bit_checks: z.boolean().optional(),
    aggressive_connection_opening: z.boolean().optional(),
    system_shutdown_timeout: duration.optional(),
    max_mx_addresses_per_host: count.optional(),
    max_mx_plan_size: count.optional(),
    suspended: z.boolean().optional(),
    tls_handshake_timeout: duration.optional(),
    dispatcher_progress_watchdog_timeout: duration.optional(),
    connect_timeout: duration.default(D.connect_timeout),
    banner_timeout: duration.default(D.banner_timeout),
    ehlo_timeout: duration.default(D.ehlo_timeout),
    mail_from_timeout: duration.default(D.mail_from_timeout),
    rcpt_to_timeout: duration.default(D.rcpt_to_timeout),
    data_timeout: duration.default(D.data_timeout),
    data_dot_timeout: duration.default(D.data_dot_timeout),
    rset_timeout: duration.default(D.rset_timeout),
    idle_timeout: duration.default(D.idle_timeout),
    starttls_timeout: duration.default(D.starttls_timeout),
    auth_timeout: duration.default(D.auth_timeout),
  })
  .transform(
    (p): EgressPathConfig => ({
      connection_limit: p.connection_limit.limit,
      connection_limit_local: p.connection_limit.local || undefined,
      max_deliveries_per_connection: p.max_deliveries_per_connection,
      max_recipients_per_batch: p.max_recipients_per_batch,
      max_ready: p.max_ready,
      max_message_rate: p.max_message_rate,
      max_connection_rate: p.max_connection_rate,
      additional_connection_limits: p.additional_connection_limits
        ? Object.fromEntries(
            Object.entries(p.additional_connection_limits).map(([name, l]) => [name, l.limit]),
          )
        : undefined,
      local_connection_limits: localNames(p.additional_connection_limits),
      additional_message_rate_throttles: p.additional_message_rate_throttles,
      source_selection_rate: p.source_selection_rate,
      additional_source_selection_rates: p.additional_source_selection_rates,
      refresh_interval: p.refresh_interval,
      enable_tls: p.enable_tls,
      enable_pipelining: p.enable_pipelining,
      enable_rset: p.enable_rset,
      smtp_port: p.smtp_port,
      ehlo_domain: p.ehlo_domain,
      prohibited_hosts: p.prohibited_hosts,
      skip_hosts: p.skip_hosts,
      ip_lookup_strategy: p.ip_lookup_strategy,
      reconnect_strategy: p.reconnect_strategy,
      try_next_host_on_transport_error: p.try_next_host_on_transport_error,
      opportunistic_tls_reconnect_on_failed_handshake:
        p.opportunistic_tls_reconnect_on_failed_handshake,
      use_lmtp: p.use_lmtp,
      smtp_auth_plain_username: p.smtp_auth_plain_username,
      smtp_auth_plain_password: p.smtp_auth_plain_password,
      allow_smtp_auth_plain_without_tls: p.allow_smtp_auth_plain_without_tls,
      tls_certificate: p.tls_certificate,
      tls_private_key: p.tls_private_key,
      provider_name: p.provider_name,
      connect_timeout: p.connect_timeout,
      banner_timeout: p.banner_timeout,
      ehlo_timeout: p.ehlo_timeout,
      mail_from_timeout: p.mail_from_timeout,
      rcpt_to_timeout: p.rcpt_to_timeout,
      data_timeout: p.data_timeout,
      data_dot_timeout: p.data_dot_timeout,
      rset_timeout: p.rset_timeout,
      idle_timeout: p.idle_timeout,
      starttls_timeout: p.starttls_timeout,
      auth_timeout: p.auth_timeout,
    }),
  );

// The egress path keys whose string value names a file that parsing reads.
const KEY_FILE_FIELDS = ['smtp_auth_plain_password', 'tls_certificate', 'tls_private_key'];

/**
 * The key under which checking or parsing a configuration table (`kumo.make_*`, any kind) may
 * be remembered: its exact JSON (`exactJson`), or undefined when the result depends on more
 * than the table — a value JSON cannot state exactly, or a key source given as a file path,
 * which parsing reads (so a renewed certificate is picked up by the next parse).
 */
export function configTableKey(table: unknown): string | undefined {
  if (typeof table === 'object' && table !== null) {
    const fields = table as Record<string, unknown>;
    if (KEY_FILE_FIELDS.some((key) => typeof fields[key] === 'string')) return undefined;
  }
  return exactJson(table);
}

/**
 * Turns what `get_egress_path_config` returned (a `kumo.make_egress_path` table, or nil) into
 * core's {@link EgressPathConfig}, with KumoMTA's code defaults and durations in seconds.
 * The egress source (`parseEgressSource`) reaches drivers beside it, not folded in.
 *
 * @throws SternaError `STERNA_LUA_CONFIG_INVALID` naming the bad key.
 */
export function parseEgressPath(table: unknown): EgressPathConfig {
  return parseWith(egressPathSchema, table, 'make_egress_path');
}

/** `kumo.make_egress_source{…}` (kumo-reference §9). */
export const egressSourceSchema = z.strictObject({
  name: z.string(),
  source_address: z.string().optional(),
  ehlo_domain: z.string().optional(),
  remote_port: z.number().int().min(1).max(65_535).optional(),
  ha_proxy_server: z.string().optional(),
  ha_proxy_source_address: z.string().optional(),
  socks5_proxy_server: z.string().optional(),
  socks5_proxy_source_address: z.string().optional(),
  ttl: duration.default(60),
  suspend_when_unplumbed: z.boolean().default(false),
  suspend_when_proxy_unhealthy: z.boolean().default(false),
});

/** An egress source, `ttl` in seconds. */
export type EgressSource = z.output<typeof egressSourceSchema>;

/** Parses a `kumo.make_egress_source` table. @throws SternaError `STERNA_LUA_CONFIG_INVALID` */
export function parseEgressSource(table: unknown): EgressSource {
  return parseWith(egressSourceSchema, table, 'make_egress_source');
}

/** `kumo.make_egress_pool{…}`: weighted sources (kumo-reference §9). */
export const egressPoolSchema = z.strictObject({
  name: z.string(),
  entries: luaArray(
    z.strictObject({ name: z.string(), weight: z.number().int().nonnegative().default(1) }),
  ).default([]),
  ttl: duration.default(60),
});

/** An egress pool, `ttl` in seconds. */
export type EgressPool = z.output<typeof egressPoolSchema>;

/** Parses a `kumo.make_egress_pool` table. @throws SternaError `STERNA_LUA_CONFIG_INVALID` */
export function parseEgressPool(table: unknown): EgressPool {
  return parseWith(egressPoolSchema, table, 'make_egress_pool');
}

/**
 * `log_oob` / `log_arf`: KumoMTA's `'Ignore'`, `'LogThenRelay'`, `'LogThenDrop'`, or the
 * booleans of its earlier releases (`false` is `'Ignore'`, `true` is `'LogThenRelay'`).
 */
const reportHandling = z
  .union([z.boolean(), z.enum(['Ignore', 'LogThenRelay', 'LogThenDrop'])])
  .default(false)
  .transform((v) => (v === true ? 'LogThenRelay' : v === false ? 'Ignore' : v));

/** `kumo.make_listener_domain{…}`: what `get_listener_domain` returns. */
export const listenerDomainSchema = z.strictObject({
  relay_to: z.boolean().default(false),
  relay_from: luaArray(z.string()).default([]),
  relay_from_authz: luaArray(z.string()).default([]),
  log_oob: reportHandling,
  log_arf: reportHandling,
});

/** A listener domain's relay and feedback settings. */
export type ListenerDomain = z.output<typeof listenerDomainSchema>;

/** Parses a `kumo.make_listener_domain` table. @throws SternaError `STERNA_LUA_CONFIG_INVALID` */
export function parseListenerDomain(table: unknown): ListenerDomain {
  return parseWith(listenerDomainSchema, table, 'make_listener_domain');
}
