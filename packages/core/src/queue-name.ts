import { SternaError } from './errors.js';

/** The parts of a scheduled queue name: `campaign:tenant@domain!routing_domain`. */
export interface QueueNameParts {
  readonly domain: string;
  readonly tenant?: string | undefined;
  readonly campaign?: string | undefined;
  readonly routingDomain?: string | undefined;
}

/**
 * Builds a scheduled queue name exactly as KumoMTA does: the campaign prefix (with `:`) only
 * when a campaign is set, the `tenant@` part whenever a tenant or campaign is set, and
 * `!routing_domain` only when a routing domain is set. The domain is lowercased.
 */
export function formatQueueName(parts: QueueNameParts): string {
  const { tenant, campaign, routingDomain } = parts;
  const domain = parts.domain.toLowerCase();
  if (domain === '') {
    throw new SternaError('STERNA_QUEUE_NAME_INVALID', 'queue name: the domain is empty');
  }
  let name = domain;
  if (campaign !== undefined) name = `${campaign}:${tenant ?? ''}@${name}`;
  else if (tenant !== undefined) name = `${tenant}@${name}`;
  if (routingDomain !== undefined) name = `${name}!${routingDomain}`;
  return name;
}

/**
 * Splits a scheduled queue name into the arguments of `get_queue_config`. A name without `@`
 * (`webhook`, `foo.com:2025`) is all domain; `campaign:@d` has an empty tenant.
 */
export function parseQueueName(name: string): QueueNameParts {
  let prefix: string | undefined;
  let rest = name;
  const at = name.indexOf('@');
  if (at >= 0) {
    prefix = name.slice(0, at);
    rest = name.slice(at + 1);
  }
  let tenant: string | undefined;
  let campaign: string | undefined;
  if (prefix !== undefined) {
    const colon = prefix.indexOf(':');
    if (colon >= 0) {
      campaign = prefix.slice(0, colon);
      tenant = prefix.slice(colon + 1);
    } else {
      tenant = prefix;
    }
  }
  let domain = rest;
  let routingDomain: string | undefined;
  const bang = rest.indexOf('!');
  if (bang >= 0) {
    domain = rest.slice(0, bang);
    routingDomain = rest.slice(bang + 1);
  }
  return { domain, tenant, campaign, routingDomain };
}

/** The ready queue a message waits in: `<egress_source>-><site>@<service>`. */
export function formatReadyQueueName(source: string, site: string, service: string): string {
  return `${source}->${site}@${service}`;
}
