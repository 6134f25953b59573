import { Resolver } from 'node:dns/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer } from '../dns-server.js';
import { dataPolicy, message } from './data-policy.js';

const POLICY = `
local rollup = require 'policy-extras.rollup'
kumo.on('smtp_server_message_received', function(msg)
  rollup.reroute_using_ip_rollup(msg, {
    ['.olc.protection.outlook.com.'] = 'outlook.com',
    ['.mail.protection.outlook.com.'] = 'outlook.ip_rollup',
  })
end)
kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  local params = {}
  rollup.apply_ip_rollup_to_queue_config(domain, routing_domain, params)
  return kumo.make_queue_config(params)
end)
`;

const to = (rcpt: string) => ({ ...message('Subject: x\r\n\r\nbody\r\n'), recipients: [rcpt] });

describe('policy-extras.rollup', () => {
  let dns: Awaited<ReturnType<typeof startDnsServer>>;
  let policy: Awaited<ReturnType<typeof dataPolicy>>;
  beforeAll(async () => {
    dns = await startDnsServer({
      'hotmail.com': { MX: [{ exchange: 'hotmail-com.olc.protection.outlook.com', priority: 2 }] },
      'mixed.example': {
        MX: [
          { exchange: 'mixed-example.olc.protection.outlook.com', priority: 1 },
          { exchange: 'mx.other.example', priority: 5 },
        ],
      },
      'foo.com': { MX: [{ exchange: 'foo-com.mail.protection.outlook.com', priority: 1 }] },
      'foo-com.mail.protection.outlook.com': { A: ['192.0.2.36', '192.0.2.35'] },
      'plain.example': { MX: [{ exchange: 'mx.plain.example', priority: 1 }] },
    });
    const resolver = new Resolver({ timeout: 5000, tries: 1 });
    resolver.setServers([dns.server]);
    policy = await dataPolicy(POLICY, {}, resolver);
  });
  afterAll(async () => {
    await dns.close();
  });

  const routed = async (rcpt: string) =>
    (await policy.run('smtp_server_message_received', to(rcpt))).messages[0]?.meta.routing_domain;

  it('routes a domain whose MX hosts all match a suffix to that routing domain', async () => {
    expect(await routed('a@hotmail.com')).toBe('outlook.com');
    // One MX host elsewhere: no match, no rerouting.
    expect(await routed('a@mixed.example')).toBeUndefined();
    expect(await routed('a@plain.example')).toBeUndefined();
  });

  it('IP rollup: the first MX host matching routes to the .ip_rollup domain, delivered to its addresses', async () => {
    expect(await routed('a@foo.com')).toBe('outlook.ip_rollup');
    expect(
      await policy.call('get_queue_config', 'foo.com', null, null, 'outlook.ip_rollup'),
    ).toEqual({
      protocol: { smtp: { mx_list: ['[192.0.2.35]', '[192.0.2.36]'] } },
    });
    expect(await policy.call('get_queue_config', 'plain.example', null, null, null)).toEqual({});
  });
});
