/**
 * What the helpers ask of the daemon, through the policy bridge's host (the channel the JS
 * context, or `@sterna/policy/testing`, installs): logs, the `validate_config` failure mark,
 * the shaping automation rules, MX look-ups and throttle checks. The same calls the Lua
 * helpers make through `kumo.*`.
 * @module
 */
import { parseThrottleSpec } from '@sterna/core/engine';
import { CONFIG_SCHEMAS, parseWith, policyBridge } from '@sterna/lua';

type Host = NonNullable<ReturnType<typeof policyBridge>['host']>;

/** The host, or an error naming what needed it. */
function host(what: string): Host {
  const h = policyBridge().host;
  if (h === undefined) {
    throw new Error(
      `${what}: no daemon to ask: call it from a handler, under sterna, or under @sterna/policy/testing`,
    );
  }
  return h;
}

/** `kumo.log_<level>(text)`; without a daemon, the line goes to standard error. */
export function log(level: 'error' | 'warn' | 'info' | 'debug', text: string): void {
  const h = policyBridge().host;
  if (h) h.tell('log', [level, text]);
  else process.stderr.write(`${level}: ${text}\n`);
}

/** `kumo.validation_failed()`: marks `--validate` failed. */
export async function validationFailed(what: string): Promise<void> {
  await host(what).ask('configure', ['validation_failed', {}]);
}

/** Hands the shaping automation rules to the daemon (configure kind `shaping_automation`). */
export async function configureShapingAutomation(rules: readonly unknown[]): Promise<void> {
  const parsed = parseWith(CONFIG_SCHEMAS.shaping_automation, { rules }, 'shaping helper');
  await host('shaping helper').ask('configure', ['shaping_automation', parsed]);
}

/** The MX host names of `domain` (`kumo.dns.lookup_mx(domain).hosts`). */
export async function lookupMxHosts(domain: string): Promise<readonly string[]> {
  const mx = await host('shaping helper: MX look-up').ask('dns_lookup_mx', [domain]);
  return mx.hosts;
}

/**
 * `kumo.make_throttle(name, spec):throttle()`: counts one operation against the daemon's
 * throttle of that name; the seconds to wait when it is over its rate, else `undefined`.
 */
export async function throttleCheck(name: string, spec: string): Promise<number | undefined> {
  const result = await host(`throttle '${name}'`).ask('throttle_check', [
    name,
    parseThrottleSpec(spec),
  ]);
  return result.retryAfter;
}
