import { errorText, type Logger } from '@sterna/core';
import { parseShapingAutomationRules } from '@sterna/lua';
import type { LuaPolicy } from '../../policy/lua-policy.js';
import type { QueueManager } from '../../queue/queue-manager.js';
import { type AutomationLevers, ShapingAutomation } from '../../shaping/automation.js';
import type { LoadedPolicy } from './load-policy.js';

/** The event the shaping helper answers with its current rules (after a config reload). */
export const RULES_EVENT = 'sterna.shaping_automation_rules';

/**
 * Boot stage: traffic shaping automation, in process. The rules the shaping helper handed over
 * at `pre_init` act through the engine's own levers (the admin API's suspensions and bounces,
 * egress path overrides), so what automation does is listed, persisted and lifted like what an
 * operator does. {@link reloadAutomationRules} asks the helper again after a config epoch.
 */
export function startAutomation(
  loaded: LoadedPolicy,
  queues: QueueManager,
  log: Logger,
): ShapingAutomation {
  // An effect already in force with more than half its time left (made before a restart, or
  // by an operator) is not made again: automation remembers only what it did since it started.
  const inForce = (
    entries: readonly { readonly reason: string; readonly duration: number }[],
    reason: string,
    duration: number,
  ) => entries.some((e) => e.reason === reason && e.duration > duration / 2);
  const sameSelector = (
    rule: {
      domain?: string | undefined;
      tenant?: string | undefined;
      campaign?: string | undefined;
    },
    selector: {
      domain?: string | undefined;
      tenant?: string | undefined;
      campaign?: string | undefined;
    },
  ) =>
    rule.domain === selector.domain &&
    rule.tenant === selector.tenant &&
    rule.campaign === selector.campaign;
  const levers: AutomationLevers = {
    suspendReadyQueue: (name, reason, duration) => {
      const live = queues.admin.listReadyQueueSuspensions().filter((s) => s.name === name);
      if (!inForce(live, reason, duration))
        queues.admin.suspendReadyQueue({ name, reason, duration });
    },
    suspendScheduled: (selector, reason, duration) => {
      const live = queues.admin.listSuspensions().filter((r) => sameSelector(r, selector));
      if (!inForce(live, reason, duration)) queues.admin.suspend({ ...selector, reason, duration });
    },
    bounce: (selector, reason, duration) => {
      const live = queues.admin.listBounces().filter((r) => sameSelector(r, selector));
      if (!inForce(live, reason, duration)) queues.admin.bounce({ ...selector, reason, duration });
    },
    setPathConfig: (scope, name, value, reason, duration) =>
      queues.overrides.set(scope, name, value, reason, duration),
  };
  const automation = new ShapingAutomation({
    rules: loaded.collected.shapingAutomation,
    levers,
    mxHosts: async (domain) =>
      (await loaded.resolver.resolveMx(domain))
        .sort((a, b) => a.priority - b.priority)
        .map((mx) => mx.exchange.toLowerCase().replace(/\.$/, '')),
    log,
  });
  if (automation.ruleCount > 0)
    log.info(`traffic shaping automation: ${automation.ruleCount} rule(s) active`);
  return automation;
}

/**
 * After a config epoch: the rules as the shaping helper now reads its files. A policy without
 * the helper keeps what it had; a broken rules file keeps the old rules and says why.
 */
export async function reloadAutomationRules(
  policy: LuaPolicy,
  automation: ShapingAutomation,
  log: Logger,
): Promise<void> {
  if (!policy.hasEvent(RULES_EVENT)) return;
  try {
    const rules = parseShapingAutomationRules(await policy.call(RULES_EVENT, []));
    const before = automation.ruleCount;
    automation.setRules(rules);
    log.info(
      `traffic shaping automation: rules reloaded (${before} before, ${automation.ruleCount} now)`,
    );
  } catch (error) {
    log.error('traffic shaping automation: the rules did not reload; the previous ones stay', {
      error: errorText(error),
    });
  }
}
