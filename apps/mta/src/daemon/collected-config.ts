import type { ConfigKind, ConfigParams, RuntimeHost } from '@sterna/lua';
import { BounceClassifier } from '../bounce/index.js';
import { levelOfFilter } from '../cli/log-filter.js';

/** Everything the policy's `init` configured, in call order. */
export interface CollectedConfig {
  readonly esmtpListeners: ConfigParams['esmtp_listener'][];
  readonly httpListeners: ConfigParams['http_listener'][];
  readonly spools: Map<string, ConfigParams['spool']>;
  localLogs?: ConfigParams['local_logs'];
  readonly logHooks: ConfigParams['log_hook'][];
  dnsResolver?: ConfigParams['dns_resolver'];
  /** `kumo.dns.set_mx_*`: the MX look-up tuning, each key from its call (the last call wins). */
  readonly mxResolver: ConfigParams['mx_resolver'];
  /**
   * `kumo.set_config_monitor_globs`: the files whose change starts a new config epoch. Unset:
   * KumoMTA's default, the policy folder's `*.{lua,json,toml,yaml}` (config-monitor.ts).
   */
  monitorGlobs?: string[];
  /** How many times a `validate_config` handler called `kumo.validation_failed()`. */
  validationFailures: number;
  /**
   * The traffic shaping automation rules `policy-extras.shaping` read from its files, kept for
   * the daemon to enforce (not enforced yet: docs/policy-api.md).
   */
  readonly shapingAutomation: ConfigParams['shaping_automation']['rules'];
  /**
   * `kumo.configure_redis_throttles{…}`: throttles and connection limits (and, unless
   * `share_admin_state = false`, the admin levers) shared through this redis.
   */
  redisThrottles?: ConfigParams['redis_throttles'];
  /**
   * `kumo.configure_bounce_classifier{…}`: its rules files, compiled when init called it (a
   * file or pattern that cannot be used is a problem below).
   */
  bounceClassifier?: BounceClassifier;
  /**
   * `kumo.set_diagnostic_log_filter(filter)`: the daemon applies it once init has run, as its
   * diagnostic level (overriding `--log-level` and `STERNA_LOG`, as KumoMTA's call overrides
   * `KUMOD_LOG`).
   */
  diagnosticLogFilter?: string;
  /** Configuration calls accepted and not used yet, in call order (not-acted-on.ts warns). */
  readonly acceptedOnly: ConfigKind[];
  /** Configuration mistakes found while init ran (reported, not thrown into the policy). */
  readonly problems: string[];
}

/** What the daemon does about the calls that may come from any event, not only `init`. */
export interface ConfigEvents {
  /** `kumo.bump_config_epoch()`: a new config epoch (the policy is loaded again). */
  bumpEpoch?(): void;
  /** `kumo.dns.set_mx_*`: the MX look-up tuning, applied as it is called. */
  tuneMx?(params: ConfigParams['mx_resolver']): void;
}

// Accepted from any event (and at the policy's top level), not only in init.
const ANY_TIME = new Set<string>([
  // KumoMTA's set_mx_* are process-wide setters: pre_init is where its docs call them, but a
  // policy that calls them at its top level or later works there too, and here.
  'mx_resolver',
  'config_monitor_globs',
  'config_epoch_bump',
  'validation_failed',
]);

/** A fresh, empty collection. */
export function emptyConfig(): CollectedConfig {
  return {
    esmtpListeners: [],
    httpListeners: [],
    spools: new Map(),
    logHooks: [],
    mxResolver: {},
    validationFailures: 0,
    shapingAutomation: [],
    acceptedOnly: [],
    problems: [],
  };
}

/**
 * The `configure` member of the runtime host: records each configuration call. Calls after
 * `init` (from another event) are refused, as KumoMTA allows them only during init — except
 * the config monitor's globs, an epoch bump and `kumo.validation_failed()`, which come from
 * `validate_config` handlers and tasks.
 */
export function collector(
  config: CollectedConfig,
  isInit: () => boolean,
  events: ConfigEvents = {},
): NonNullable<RuntimeHost['configure']> {
  return <K extends ConfigKind>(kind: K, params: ConfigParams[K]) => {
    if (ANY_TIME.has(kind)) return anyTime(config, events, kind, params);
    if (!isInit()) throw new Error(`${kind} can only be configured in the init event`);
    switch (kind) {
      case 'esmtp_listener':
        config.esmtpListeners.push(params as ConfigParams['esmtp_listener']);
        break;
      case 'http_listener':
        config.httpListeners.push(params as ConfigParams['http_listener']);
        break;
      case 'spool': {
        const spool = params as ConfigParams['spool'];
        if (config.spools.has(spool.name))
          throw new Error(`spool '${spool.name}' is already defined`);
        config.spools.set(spool.name, spool);
        break;
      }
      case 'local_logs':
        if (config.localLogs) throw new Error('configure_local_logs was already called');
        config.localLogs = params as ConfigParams['local_logs'];
        break;
      case 'log_hook':
        config.logHooks.push(params as ConfigParams['log_hook']);
        break;
      case 'dns_resolver':
        config.dnsResolver = params as ConfigParams['dns_resolver'];
        break;
      case 'shaping_automation':
        config.shapingAutomation.push(...(params as ConfigParams['shaping_automation']).rules);
        break;
      case 'redis_throttles':
        if (config.redisThrottles) throw new Error('configure_redis_throttles was already called');
        config.redisThrottles = params as ConfigParams['redis_throttles'];
        break;
      case 'bounce_classifier':
        if (config.bounceClassifier)
          throw new Error('configure_bounce_classifier was already called');
        try {
          config.bounceClassifier = BounceClassifier.load(
            params as ConfigParams['bounce_classifier'],
          );
        } catch (error) {
          config.problems.push(`kumo.configure_bounce_classifier: ${(error as Error).message}`);
        }
        break;
      case 'diagnostic_log_filter': {
        const { filter } = params as ConfigParams['diagnostic_log_filter'];
        try {
          levelOfFilter(filter);
          config.diagnosticLogFilter = filter;
        } catch (error) {
          config.problems.push(`kumo.set_diagnostic_log_filter: ${(error as Error).message}`);
        }
        break;
      }
      default:
        // the accounting database: accepted, not used yet
        // (docs/policy-api.md); the daemon warns about each (not-acted-on.ts).
        config.acceptedOnly.push(kind);
        break;
    }
  };
}

function anyTime(config: CollectedConfig, events: ConfigEvents, kind: string, params: unknown) {
  switch (kind) {
    case 'mx_resolver':
      Object.assign(config.mxResolver, params);
      events.tuneMx?.(params as ConfigParams['mx_resolver']);
      break;
    case 'config_monitor_globs':
      config.monitorGlobs = [...(params as { globs: string[] }).globs];
      break;
    case 'config_epoch_bump':
      events.bumpEpoch?.();
      break;
    case 'validation_failed':
      config.validationFailures++;
      break;
  }
}
