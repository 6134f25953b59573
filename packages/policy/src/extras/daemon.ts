/**
 * What the helpers ask of the daemon, through `@sterna/policy`'s own calls (the same the Lua
 * helpers make through `kumo.*`): logs, the `validate_config` failure mark, the shaping
 * automation rules, MX look-ups and throttle checks. Each fails naming its function when no
 * daemon is there.
 * @module
 */
import type { Message } from '@sterna/lua';
import { configureShapingAutomation as configureRules, validationFailed } from '../configure.js';
import { log as daemonLog, dns, makeThrottle } from '../services.js';
import type { DaemonRule } from './shaping-data.js';

/** `kumo.log_<level>(text)`. */
export function log(level: 'error' | 'warn' | 'info' | 'debug', text: string): void {
  daemonLog[level](text);
}

export { validationFailed };

/** Hands the shaping automation rules to the daemon (configure kind `shaping_automation`). */
export function configureShapingAutomation(rules: readonly DaemonRule[]): Promise<void> {
  return configureRules(rules as never);
}

/** The MX host names of `domain` (`kumo.dns.lookup_mx(domain).hosts`). */
export async function lookupMxHosts(domain: string): Promise<readonly string[]> {
  return (await dns.lookupMx(domain)).hosts;
}

/**
 * `kumo.make_throttle(name, spec):delay_message_if_throttled(msg)`: counts the message against
 * the daemon's throttle of that name; when it is over its rate, the message is due again when
 * the throttle allows it. True when it was delayed.
 */
export function delayIfThrottled(name: string, spec: string, msg: Message): Promise<boolean> {
  return makeThrottle(name, spec).delayMessageIfThrottled(msg);
}
