import type { ConfigKind, ConfigParams, RuntimeHost } from '@sterna/lua';

/** Everything the policy's `init` configured, in call order. */
export interface CollectedConfig {
  readonly esmtpListeners: ConfigParams['esmtp_listener'][];
  readonly httpListeners: ConfigParams['http_listener'][];
  readonly spools: Map<string, ConfigParams['spool']>;
  localLogs?: ConfigParams['local_logs'];
  readonly logHooks: ConfigParams['log_hook'][];
  dnsResolver?: ConfigParams['dns_resolver'];
  /**
   * The traffic shaping automation rules `policy-extras.shaping` read from its files, kept for
   * the daemon to enforce (not enforced yet: docs/policy-api.md).
   */
  readonly shapingAutomation: ConfigParams['shaping_automation']['rules'];
  /** Configuration mistakes found while init ran (reported, not thrown into the policy). */
  readonly problems: string[];
}

/** A fresh, empty collection. */
export function emptyConfig(): CollectedConfig {
  return {
    esmtpListeners: [],
    httpListeners: [],
    spools: new Map(),
    logHooks: [],
    shapingAutomation: [],
    problems: [],
  };
}

/**
 * The `configure` member of the runtime host: records each configuration call. Calls after
 * `init` (from another event) are refused, as KumoMTA allows them only during init.
 */
export function collector(
  config: CollectedConfig,
  isInit: () => boolean,
): NonNullable<RuntimeHost['configure']> {
  return <K extends ConfigKind>(kind: K, params: ConfigParams[K]) => {
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
      default:
        // bounce classifiers, accounting, diagnostic filters: accepted, not used yet (docs/policy-api.md).
        break;
    }
  };
}
