// The seed's smarthost policy (examples/smarthost/seed.lua) in TypeScript: mail for
// smarthost.example.com is relayed to the hosts of mx_list, tried in order, instead of the
// domain's MX. The table is the Lua one with TypeScript's punctuation: the same keys.
import { makeQueueConfig, on } from '@sterna/policy';

on('get_queue_config', (domain, _tenant, _campaign, _routingDomain) => {
  if (domain === 'smarthost.example.com') {
    // Relay via some other internal infrastructure. Enclose IP (or IPv6) addresses in `[]`;
    // a bare name is resolved for A and AAAA records; { name, addr } connects to addr.
    return makeQueueConfig({
      protocol: {
        smtp: {
          mx_list: ['smart.host.local', { name: 'mx.example.com', addr: '10.0.0.1' }],
        },
      },
    });
  }
  // Otherwise, just use the defaults.
  return makeQueueConfig({});
});
