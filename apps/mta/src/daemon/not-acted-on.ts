import type { ConfigKind } from '@sterna/lua';
import type { CollectedConfig } from './collected-config.js';

/**
 * Configuration calls Sterna accepts (so a KumoMTA policy loads) and does not act on yet, with
 * what that means for the operator.
 */
const ACCEPTED_ONLY: Partial<Record<ConfigKind, string>> = {
  accounting_db_path: 'kumo.configure_accounting_db_path: accepted, not used yet: no accounting',
};

/**
 * Settings the policy gave in `init` that the daemon accepts and does not act on yet
 * (docs/policy-api.md and docs/daemon.md say so for each): one warning for each, at start and
 * from `sterna --validate`, rather than a silent difference from KumoMTA.
 */
export function notActedOnWarnings(config: CollectedConfig): string[] {
  const warnings: string[] = [];
  for (const listener of config.esmtpListeners) {
    const unsupported: string[] = [];
    if (listener.batch_handling !== 'BifurcateAlways')
      unsupported.push(`batch_handling = '${listener.batch_handling}'`);
    if (listener.deferred_queue) unsupported.push('deferred_queue');
    if (listener.allow_xclient) unsupported.push('allow_xclient');
    if (listener.require_proxy_protocol) unsupported.push('require_proxy_protocol');
    if (listener.tls_required_client_ca !== undefined) unsupported.push('tls_required_client_ca');
    if (Object.keys(listener.peer).length > 0) unsupported.push('peer');
    if (Object.keys(listener.via).length > 0) unsupported.push('via');
    if (unsupported.length > 0)
      warnings.push(
        `kumo.start_esmtp_listener (${listener.listen}): not supported yet, so ignored: ${unsupported.join(', ')}`,
      );
  }
  const logs = config.localLogs;
  if (logs) {
    const unsupported: string[] = [];
    if (logs.log_dir_timezone !== undefined) unsupported.push('log_dir_timezone');
    if (logs.max_record_size !== undefined) unsupported.push('max_record_size');
    if (unsupported.length > 0)
      warnings.push(
        `kumo.configure_local_logs: not supported yet, so ignored: ${unsupported.join(', ')}`,
      );
  }
  warnings.push(...(config.bounceClassifier?.notes ?? []));
  for (const kind of new Set(config.acceptedOnly)) {
    const text = ACCEPTED_ONLY[kind];
    if (text) warnings.push(text);
  }
  return warnings;
}
