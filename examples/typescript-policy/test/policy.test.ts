// The policy's handlers are plain functions: vitest runs them with no daemon. testPolicy imports
// the policy under a recording daemon (configuration calls, logs), DNS answers come from the
// test, and messages are the objects the daemon's workers hand to handlers.
import {
  messageSnapshot,
  testAddress,
  testConnectionMeta,
  testMessage,
  testPolicy,
} from '@sterna/policy/testing';
import { describe, expect, it } from 'vitest';

const policy = await testPolicy(() => import('../src/policy.js'), {
  dns: { mx: { 'slow.example.net': ['mx.slow.example.net'] } },
});

describe('the example policy', () => {
  it('listens, spools and logs where init says', async () => {
    await policy.init();
    expect(policy.configured.map((c) => c.kind)).toEqual([
      'shaping_automation',
      'esmtp_listener',
      'http_listener',
      'spool',
      'spool',
      'local_logs',
    ]);
    expect(policy.configured[1]).toMatchObject({
      params: { listen: '127.0.0.1:2525', banner: 'KumoMTA', max_recipients_per_message: 1024 },
    });
  });

  it('refuses senders of a blocked domain with a 550, whatever their case', async () => {
    const conn = testConnectionMeta({ received_from: '192.0.2.7:40000' });
    await expect(
      policy.call('smtp_server_mail_from', testAddress('bulk@Spam.Example'), conn),
    ).rejects.toMatchObject({
      code: 550,
      text: '5.7.1 mail from Spam.Example is not accepted here',
    });
    await expect(
      policy.call('smtp_server_mail_from', testAddress('app@example.org'), conn),
    ).resolves.toBeUndefined();
  });

  it('takes the tenant and campaign from the headers, and drops the headers', async () => {
    const msg = testMessage({
      sender: 'news@example.org',
      recipients: 'user@example.com',
      headers: { 'X-Tenant': 'marketing', 'X-Campaign': 'spring', Subject: 'Hello' },
    });
    await policy.call('smtp_server_message_received', msg, testConnectionMeta());
    expect(msg.getMeta('tenant')).toBe('marketing');
    expect(msg.getMeta('campaign')).toBe('spring');
    expect(msg.getMeta('x_received_via')).toBe('smtp');
    expect(msg.getFirstNamedHeaderValue('X-Tenant')).toBeUndefined();
    expect(msg.queueName()).toBe('spring:marketing@example.com');
    expect(messageSnapshot(msg).changed).toBe(true);
  });

  it('puts a message without a tenant header in the default tenant', async () => {
    const msg = testMessage({ sender: 'app@example.org', recipients: 'user@example.com' });
    await policy.call('http_message_generated', msg, {
      peer_address: '127.0.0.1',
      identities: [],
      groups: [],
    });
    expect(msg.getMeta('tenant')).toBe('transactional');
    expect(msg.getMeta('x_received_via')).toBe('http');
  });

  it('configures queues from queues.toml: the tenant picks the pool', async () => {
    expect(
      await policy.call('get_queue_config', 'example.com', 'marketing', undefined, undefined),
    ).toMatchObject({ egress_pool: 'pool-bulk', max_age: '2 days', retry_interval: '10 minutes' });
    expect(
      await policy.call(
        'get_queue_config',
        'slow.example.net',
        'transactional',
        undefined,
        undefined,
      ),
    ).toMatchObject({ egress_pool: 'pool-main', max_message_rate: '60/min' });
  });

  it('describes its pools and sources from sources.toml', async () => {
    expect(await policy.call('get_egress_pool', 'pool-bulk')).toMatchObject({
      name: 'pool-bulk',
      entries: [{ name: 'bulk-1' }],
    });
    expect(await policy.call('get_egress_source', 'main-1')).toMatchObject({
      name: 'main-1',
      source_address: '127.0.0.1',
      ehlo_domain: 'mta1.example.com',
    });
  });

  it('shapes a domain by the operator file over the default one', async () => {
    const path = await policy.call(
      'get_egress_path_config',
      'slow.example.net',
      'main-1',
      'mx.slow.example.net',
    );
    expect(path).toMatchObject({ connection_limit: 1, max_deliveries_per_connection: 10 });
    const other = await policy.call(
      'get_egress_path_config',
      'example.com',
      'main-1',
      'mx.example.com',
    );
    expect(other).toMatchObject({ connection_limit: 5 });
  });
});
