/**
 * The configuration calls of an `init` handler (KumoMTA's `kumo.start_esmtp_listener{…}` is
 * `startEsmtpListener({…})`): each table is checked with the schema the Lua runtime uses —
 * KumoMTA's keys and defaults, durations in seconds — then handed to the daemon, which may
 * refuse it. Each returns a promise: `await` it, so a refusal fails `init` where it was made.
 * @module
 */
import {
  CONFIG_SCHEMAS,
  type ConfigKind,
  type ConfigParams,
  parseWith,
  trackConfiguration,
} from '@sterna/lua';
import { askDaemon } from './daemon.js';
import type { TableOf } from './table-types.js';

/** `startEsmtpListener`'s table: `listen`, `hostname`, `relay_hosts`, `tls_*`, limits… */
export type EsmtpListenerParams = TableOf<typeof CONFIG_SCHEMAS.esmtp_listener>;
/** `startHttpListener`'s table: `listen`, `trusted_hosts`, `use_tls`, … */
export type HttpListenerParams = TableOf<typeof CONFIG_SCHEMAS.http_listener>;
/** `defineSpool`'s table: `{ name, path, kind, … }`. */
export type SpoolParams = TableOf<typeof CONFIG_SCHEMAS.spool>;
/** `configureLocalLogs`'s table: `{ log_dir, max_file_size, per_record, … }`. */
export type LocalLogsParams = TableOf<typeof CONFIG_SCHEMAS.local_logs>;
/** `configureLogHook`'s table: `{ name, per_record, meta, headers, … }`. */
export type LogHookParams = TableOf<typeof CONFIG_SCHEMAS.log_hook>;
/** `configureBounceClassifier`'s table: `{ files, cache_size, … }`. */
export type BounceClassifierParams = TableOf<typeof CONFIG_SCHEMAS.bounce_classifier>;
/** `configureRedisThrottles`'s table: the redis parameters (`node`, …) and Sterna's lease keys. */
export type RedisThrottlesParams = TableOf<typeof CONFIG_SCHEMAS.redis_throttles>;
/** `dns.configureResolver`'s table: `{ name_servers, domain, search, options }`. */
export type DnsResolverParams = TableOf<typeof CONFIG_SCHEMAS.dns_resolver>;
/** One shaping automation rule as the extras' shaping helper hands it over. */
export type ShapingAutomationRuleParams = NonNullable<
  TableOf<typeof CONFIG_SCHEMAS.shaping_automation>['rules']
>[number];

/**
 * Parses `params` with the schema of `kind` (errors name `fn` and the key), then hands the
 * parsed table to the daemon.
 */
function configure<K extends ConfigKind>(fn: string, kind: K, params: unknown): Promise<void> {
  // Tracked: the runtime fails the handler's call when this fails, awaited or not.
  return trackConfiguration(
    (async () => {
      const parsed = parseWith(CONFIG_SCHEMAS[kind], params, fn) as ConfigParams[K];
      await askDaemon(fn, 'configure', [kind, parsed], 'configure');
    })(),
  );
}

/** Starts an SMTP listener (`kumo.start_esmtp_listener`). Call it from `init`. */
export function startEsmtpListener(params: EsmtpListenerParams): Promise<void> {
  return configure('startEsmtpListener', 'esmtp_listener', params);
}

/** Starts the HTTP listener of the injection and admin API (`kumo.start_http_listener`). */
export function startHttpListener(params: HttpListenerParams): Promise<void> {
  return configure('startHttpListener', 'http_listener', params);
}

/** Defines a spool (`kumo.define_spool`): `'data'` and `'meta'` are the ones the daemon uses. */
export function defineSpool(params: SpoolParams): Promise<void> {
  return configure('defineSpool', 'spool', params);
}

/** Writes log records to files (`kumo.configure_local_logs`). */
export function configureLocalLogs(params: LocalLogsParams): Promise<void> {
  return configure('configureLocalLogs', 'local_logs', params);
}

/**
 * Offers each log record to the `should_enqueue_log_record` event under a hook name
 * (`kumo.configure_log_hook`).
 */
export function configureLogHook(params: LogHookParams): Promise<void> {
  return configure('configureLogHook', 'log_hook', params);
}

/** Loads bounce classification rules files (`kumo.configure_bounce_classifier`). */
export function configureBounceClassifier(params: BounceClassifierParams): Promise<void> {
  return configure('configureBounceClassifier', 'bounce_classifier', params);
}

/** Where the accounting database lives (`kumo.configure_accounting_db_path(path)`). */
export function configureAccountingDbPath(path: string): Promise<void> {
  return configure('configureAccountingDbPath', 'accounting_db_path', { path });
}

/** The daemon's diagnostic log level/filter (`kumo.set_diagnostic_log_filter(filter)`). */
export function setDiagnosticLogFilter(filter: string): Promise<void> {
  return configure('setDiagnosticLogFilter', 'diagnostic_log_filter', { filter });
}

/** The globs of files whose change reloads the policy (`kumo.set_config_monitor_globs`). */
export function setConfigMonitorGlobs(globs: readonly string[]): Promise<void> {
  return configure('setConfigMonitorGlobs', 'config_monitor_globs', { globs });
}

/**
 * Bumps the configuration epoch (`kumo.bump_config_epoch`): the daemon refreshes the queue
 * and egress configs that use the `Epoch` refresh strategy.
 */
export function bumpConfigEpoch(): Promise<void> {
  return configure('bumpConfigEpoch', 'config_epoch_bump', {});
}

/**
 * Marks the policy invalid (`kumo.validation_failed`): from a `validate_config` handler, it
 * makes `sterna --validate` fail.
 */
export function validationFailed(): Promise<void> {
  return configure('validationFailed', 'validation_failed', {});
}

/** Shares throttles (and admin state) through redis (`kumo.configure_redis_throttles`). */
export function configureRedisThrottles(params: RedisThrottlesParams): Promise<void> {
  return configure('configureRedisThrottles', 'redis_throttles', params);
}

/** The DNS resolver the daemon uses (`kumo.dns.configure_resolver`); also `dns.configureResolver`. */
export function configureResolver(params: DnsResolverParams): Promise<void> {
  return configure('dns.configureResolver', 'dns_resolver', params);
}

/** A duration as KumoMTA takes it: seconds, or text such as `'5s'` or `'10m'`. */
export type DurationSpec = number | string;

/** The whole time an MX look-up may take (`kumo.dns.set_mx_timeout`). @default '5s' */
export function setMxTimeout(duration: DurationSpec): Promise<void> {
  return configure('dns.setMxTimeout', 'mx_resolver', { timeout: duration });
}

/** How long an NXDOMAIN answer is kept (`kumo.dns.set_mx_negative_cache_ttl`). @default '5m' */
export function setMxNegativeCacheTtl(duration: DurationSpec): Promise<void> {
  return configure('dns.setMxNegativeCacheTtl', 'mx_resolver', { negative_cache_ttl: duration });
}

/** MX queries in flight at once (`kumo.dns.set_mx_concurrency_limit`). @default 128 */
export function setMxConcurrencyLimit(limit: number): Promise<void> {
  return configure('dns.setMxConcurrencyLimit', 'mx_resolver', { concurrency_limit: limit });
}

/**
 * Sterna's own, for the shaping helper of `@sterna/policy/extras` (as the Lua helper's
 * `kumo.__configure_shaping_automation`): hands the automation rules it read to the daemon.
 * Not part of the public API.
 * @internal
 */
export function configureShapingAutomation(
  rules: readonly ShapingAutomationRuleParams[],
): Promise<void> {
  return configure('shaping.setupWithAutomation', 'shaping_automation', { rules });
}
