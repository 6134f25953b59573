// The seed's custom_lua policy (examples/webhook/seed.lua) in TypeScript: the queue `webhook`
// is delivered by a connection object the policy makes. The protocol keeps KumoMTA's name,
// `custom_lua`; its constructor is an event of this module.
import { type Message, makeQueueConfig, on, reject } from '@sterna/policy';

on('get_queue_config', (domain, _tenant, _campaign, _routingDomain) => {
  if (domain === 'webhook') {
    // `make.webhook` is an event name of our own: bound below with `on`.
    return makeQueueConfig({ protocol: { custom_lua: { constructor: 'make.webhook' } } });
  }
  return makeQueueConfig({});
});

// Called each time a connection is needed: returns an object with a `send` method.
on('make.webhook', (_domain: string, _tenant?: string, _campaign?: string) => {
  const failed = false;
  return {
    // What `send` returns is the disposition logged for a successful delivery. `reject` with a
    // 4xx code makes the message retry later; with a 5xx code it bounces.
    send(message: Message): string {
      console.log(message.getData());
      if (failed) reject(400, 'failed for some reason');
      return 'OK';
    },
  };
});
