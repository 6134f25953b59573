import {
  type DeliveryTarget,
  type DriverContext,
  type MxRecord,
  makeResponse,
  type SiteResolution,
} from '@sterna/core';
import { type LookupResult, lookupAddresses } from './address-lookup.js';
import { parseAddressSpec, parseDomainLiteral, parseHostSpec } from './host-spec.js';
import type { SmtpOptions } from './options.js';
import { makePlan, type PlanGroup, type PlanHost } from './plan.js';
import { mxSiteName } from './site-name.js';

/** The service part of every SMTP ready queue name (`<source>-><site>@smtp_client`). */
export const SMTP_SERVICE = 'smtp_client';

function transient451(text: string): SiteResolution {
  return { failure: { kind: 'transient', response: makeResponse(451, `4.4.4 ${text}`) } };
}

/** The site of an `mx_list`: its entries in order, named `mx_list:<labels>`. */
function mxListSite(list: NonNullable<SmtpOptions['smtp']['mx_list']>): SiteResolution {
  const groups: PlanGroup[] = [];
  const labels: string[] = [];
  for (const entry of list) {
    if (typeof entry === 'string') {
      labels.push(entry);
      const spec = parseHostSpec(entry);
      // The schema has already refused bad entries; this keeps a hand-built options object honest.
      if ('error' in spec) continue;
      const host: PlanHost = spec.isAddress
        ? { name: spec.name, addresses: [spec.host], port: spec.port }
        : { name: spec.name, resolve: spec.host, port: spec.port };
      groups.push({ hosts: [host], shuffle: false });
    } else {
      labels.push(entry.addr);
      const addr = parseAddressSpec(entry.addr);
      if (!addr) continue;
      groups.push({
        hosts: [{ name: entry.name, addresses: [addr.host], port: addr.port }],
        shuffle: false,
      });
    }
  }
  return {
    site: {
      name: `mx_list:${labels.join(',')}`,
      service: SMTP_SERVICE,
      plan: makePlan('mx_list', groups),
    },
  };
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : String(error);
}

/**
 * Names the site of a delivery target: the `mx_list` when given, else the routing domain's MX
 * (RFC 5321 §5.1 with RFC 7505's null MX), as KumoMTA's `MailExchanger` does.
 */
export async function resolveSite(
  options: SmtpOptions,
  target: DeliveryTarget,
  ctx: DriverContext,
): Promise<SiteResolution> {
  const list = options.smtp.mx_list;
  if (list && list.length > 0) return mxListSite(list);

  const domain = (target.routingDomain ?? target.domain).trim().toLowerCase().replace(/\.$/, '');
  const literal = parseDomainLiteral(domain);
  if (literal) {
    const plan = makePlan('literal', [
      { hosts: [{ name: domain, addresses: [literal] }], shuffle: false },
    ]);
    return { site: { name: domain, service: SMTP_SERVICE, plan } };
  }

  let records: MxRecord[];
  try {
    records = await ctx.resolver.resolveMx(domain);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENODATA') {
      // No MX: the domain itself is the implicit MX at preference 0 (RFC 5321 §5.1).
      records = [{ exchange: domain, priority: 0 }];
    } else {
      const why = code === 'ENOTFOUND' ? 'NXDOMAIN' : code;
      return transient451(`MX lookup for ${domain} failed: ${why}`);
    }
  }
  const named = records.filter((r) => r.exchange !== '' && r.exchange !== '.');
  if (named.length === 0) {
    if (records.length > 0) {
      return {
        failure: {
          kind: 'permanent',
          response: makeResponse(556, '5.1.10 Recipient address has a null MX'),
        },
      };
    }
    return transient451("MX didn't resolve to any hosts");
  }

  const byPreference = new Map<number, Set<string>>();
  for (const record of named) {
    const host = record.exchange.toLowerCase().replace(/\.$/, '');
    const level = byPreference.get(record.priority) ?? new Set<string>();
    level.add(host);
    byPreference.set(record.priority, level);
  }
  const allHosts = [...new Set(named.map((r) => r.exchange.toLowerCase().replace(/\.$/, '')))];
  const resolved = new Map<string, LookupResult>(
    await Promise.all(
      allHosts.map(async (host) => {
        const spec = parseAddressSpec(host);
        if (spec) return [host, { addresses: [spec.host] }] as [string, LookupResult];
        return [host, await lookupAddresses(ctx.resolver, host)] as [string, LookupResult];
      }),
    ),
  );
  const groups: PlanGroup[] = [];
  for (const preference of [...byPreference.keys()].sort((a, b) => a - b)) {
    const hosts: PlanHost[] = [];
    for (const host of [...byPreference.get(preference)!].sort()) {
      const result = resolved.get(host);
      if (!result || result.addresses.length === 0) {
        ctx.logger.debug('MX host has no addresses; skipped', {
          domain,
          host,
          error: result?.error,
        });
        continue;
      }
      hosts.push({ name: host, addresses: result.addresses });
    }
    if (hosts.length > 0) groups.push({ hosts, shuffle: true });
  }
  if (groups.length === 0) return transient451("MX didn't resolve to any hosts");
  return {
    site: { name: mxSiteName(allHosts), service: SMTP_SERVICE, plan: makePlan('mx', groups) },
  };
}
