// The seed's Maildir policy (examples/maildir/seed.lua) in TypeScript: one domain is stored
// into a Maildir instead of being delivered by SMTP.
import { makeQueueConfig, on } from '@sterna/policy';

on('get_queue_config', (domain, _tenant, _campaign, _routingDomain) => {
  if (domain === 'maildir.example.com') {
    return makeQueueConfig({ protocol: { maildir_path: '/var/tmp/kumo-maildir' } });
  }
  // Otherwise, just use the defaults.
  return makeQueueConfig({});
});
