import { policyBridge, rejectionOf } from '@sterna/lua';
import { afterEach, describe, expect, it } from 'vitest';
import { makeQueueConfig } from '../builders.js';
import { disconnect, on, PolicyRejection, reject } from '../events.js';
import {
  messageSnapshot,
  testAddress,
  testConnectionMeta,
  testMessage,
  testPolicy,
} from './index.js';

const load = () => import('../../test/fixtures/api/policy.js');

afterEach(() => {
  policyBridge().host = undefined;
});

// A policy module written in the test: its handlers are registered by `load`.
const policyOf = (register: () => void) => async () => {
  register();
  return {};
};

describe('testPolicy with a policy module', () => {
  it('runs pre_init then init, recording the configuration', async () => {
    const policy = await testPolicy(load);
    const { seen } = await load();
    await policy.init();
    expect(seen).toEqual(['pre_init', 'init']);
    expect(policy.configured).toMatchObject([
      { kind: 'esmtp_listener', params: { listen: '0.0.0.0:2525', banner: 'KumoMTA' } },
    ]);
    expect(policy.has('init')).toBe(true);
    expect(policy.has('smtp_server_data')).toBe(false);
    expect(await policy.call('smtp_server_data', testMessage(msgInit), testConnectionMeta())).toBe(
      undefined,
    );
  });

  it('keeps the handlers of a module imported before (a module runs once)', async () => {
    await testPolicy(load);
    const again = await testPolicy(load);
    expect(again.has('get_queue_config')).toBe(true);
    // The bridge's own registry is left as it was.
    expect(policyBridge().handlers.has('get_queue_config')).toBe(false);
  });

  it('answers the DNS the test gives, and calls typed events', async () => {
    const policy = await testPolicy(load, { dns: { mx: { 'mx.test': ['a.mx.test'] } } });
    expect(
      await policy.call('get_queue_config', 'mx.test', undefined, undefined, undefined),
    ).toEqual({ protocol: { smtp: { mx_list: ['a.mx.test'] } } });
    expect(
      await policy.call('get_queue_config', 'other.test', 'tenant', undefined, undefined),
    ).toBe(undefined);
    expect(
      await policy.call('get_listener_domain', 'relay.test', 'esmtp', testConnectionMeta()),
    ).toEqual({ relay_to: true });
  });

  it('throws the PolicyRejection of reject()', async () => {
    const policy = await testPolicy(load);
    const meta = testConnectionMeta({ received_from: '192.0.2.1:4000' });
    const error = await policy
      .call('smtp_server_mail_from', testAddress('bad@spam.test'), meta)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PolicyRejection);
    expect(rejectionOf(error)).toEqual({
      code: 550,
      text: '5.7.1 not from you',
      disconnect: undefined,
    });
    await expect(
      policy.call('smtp_server_mail_from', testAddress('good@example.org'), meta),
    ).resolves.toBe(undefined);
  });

  it('lets the test read what a handler did to the message', async () => {
    const policy = await testPolicy(load);
    const msg = testMessage(msgInit);
    await policy.call(
      'smtp_server_message_received',
      msg,
      testConnectionMeta({ received_via: '127.0.0.1:2525' }),
    );
    expect(msg.getMeta('tenant')).toBe('acme');
    expect(msg.getFirstNamedHeaderValue('X-Tenant')).toBe(undefined);
    expect(msg.getFirstNamedHeaderValue('X-Received-Via')).toBe('127.0.0.1:2525');
    expect(policy.logs).toEqual([{ level: 'info', text: `received ${msg.id()}` }]);
    const snapshot = messageSnapshot(msg);
    expect(snapshot.changed).toBe(true);
    expect(snapshot.recipients).toEqual(['b@example.com']);
    expect(Buffer.from(snapshot.data).toString()).toContain('Subject: Hello\r\n');
  });
});

const msgInit = {
  sender: 'a@example.org',
  recipients: 'b@example.com',
  headers: [
    ['Subject', 'Hello'],
    ['X-Tenant', 'acme'],
  ],
  body: 'Hi.\n',
} as const;

describe('call() follows KumoMTA single and multiple event semantics', () => {
  it('runs multiple-event handlers in order until one returns a value', async () => {
    const ran: string[] = [];
    const policy = await testPolicy(
      policyOf(() => {
        on('get_queue_config', (domain) => {
          ran.push(`first ${domain}`);
          return domain === 'a.test' ? makeQueueConfig({ max_age: '1d' }) : undefined;
        });
        on('get_queue_config', async (domain) => {
          ran.push(`second ${domain}`);
          return makeQueueConfig({ egress_pool: domain });
        });
        on('get_queue_config', () => {
          ran.push('third');
          return makeQueueConfig({});
        });
      }),
    );
    expect(
      await policy.call('get_queue_config', 'a.test', undefined, undefined, undefined),
    ).toEqual({ max_age: '1d' });
    expect(
      await policy.call('get_queue_config', 'b.test', undefined, undefined, undefined),
    ).toEqual({ egress_pool: 'b.test' });
    expect(ran).toEqual(['first a.test', 'first b.test', 'second b.test']);
  });

  it('answers undefined when every multiple handler does', async () => {
    let calls = 0;
    const policy = await testPolicy(
      policyOf(() => {
        on('should_enqueue_log_record', () => {
          calls += 1;
        });
        on('should_enqueue_log_record', () => {
          calls += 1;
          return undefined;
        });
      }),
    );
    const msg = testMessage({ sender: 'a@x.test', recipients: 'b@y.test' });
    expect(await policy.call('should_enqueue_log_record', msg, 'hook')).toBe(undefined);
    expect(calls).toBe(2);
  });

  it('refuses a second handler for a single event, naming where the first came from', async () => {
    await expect(
      testPolicy(
        policyOf(() => {
          on('smtp_server_data', () => {});
          on('smtp_server_data', () => {});
        }),
      ),
    ).rejects.toThrow(/^smtp_server_data event already has a handler defined at /);
  });

  it('stops at a rejection in a multiple event, and carries disconnect()', async () => {
    let later = false;
    const policy = await testPolicy(
      policyOf(() => {
        on('throttle_insert_ready_queue', () => reject(451, '4.4.5 later'));
        on('throttle_insert_ready_queue', () => {
          later = true;
        });
        on('smtp_server_connection_accepted', () => disconnect(421, '4.7.0 go away', 'If421'));
      }),
    );
    const msg = testMessage({ sender: 'a@x.test', recipients: 'b@y.test' });
    await expect(policy.call('throttle_insert_ready_queue', msg)).rejects.toThrow(
      expect.objectContaining({ code: 451, text: '4.4.5 later' }),
    );
    expect(later).toBe(false);
    const error = await policy
      .call('smtp_server_connection_accepted', testConnectionMeta())
      .catch((e: unknown) => e);
    expect(rejectionOf(error)).toEqual({ code: 421, text: '4.7.0 go away', disconnect: 'If421' });
  });

  it('passes other errors through, and refuses on() from inside a handler', async () => {
    const policy = await testPolicy(
      policyOf(() => {
        on('http_server_validate_auth_basic', () => {
          throw new Error('no user table');
        });
        on('make.thing', () => {
          on('init', () => {});
        });
      }),
    );
    await expect(policy.call('http_server_validate_auth_basic', 'u', 'p')).rejects.toThrow(
      'no user table',
    );
    await expect(policy.call('make.thing')).rejects.toThrow(
      'on: cannot register a handler for init from inside an event handler',
    );
    expect(policyBridge().depth).toBe(0);
  });

  it('validate() runs validate_config and reports validationFailed()', async () => {
    const { validationFailed } = await import('../configure.js');
    const policy = await testPolicy(
      policyOf(() => {
        on('validate_config', async () => {
          await validationFailed();
        });
      }),
    );
    expect(await policy.validate()).toBe(false);
    policy.reset();
    expect(policy.configured).toEqual([]);
    const fine = await testPolicy(policyOf(() => on('validate_config', () => {})));
    expect(await fine.validate()).toBe(true);
  });

  it('fails init when a configuration call made without await fails, and only that call', async () => {
    const { defineSpool, startEsmtpListener } = await import('../configure.js');
    const policy = await testPolicy(
      policyOf(() => {
        on('init', () => {
          // Neither call is awaited: the first is fine, the second names a key that does not exist.
          void defineSpool({ name: 'data', path: '/tmp/spool' });
          void startEsmtpListener({ listen: '127.0.0.1:0', bogus: 1 } as never);
        });
        on('get_queue_config', () => makeQueueConfig({}));
      }),
    );
    await expect(policy.init()).rejects.toThrow("startEsmtpListener: unknown field 'bogus'");
    expect(policy.configured.map((c) => c.kind)).toEqual(['spool']);
    // The failure was taken by init's call: later calls are not failed by it.
    await expect(
      policy.call('get_queue_config', 'example.com', undefined, undefined, undefined),
    ).resolves.toEqual({});
  });
});

describe('types', () => {
  it('checks event names against their arguments (compile-time)', async () => {
    const policy = await testPolicy(policyOf(() => {}));
    // Never called: the lines below are checked by tsc, not run.
    const typeOnly = () => {
      // @ts-expect-error get_queue_config's domain is a string
      on('get_queue_config', (domain: number) => makeQueueConfig({ egress_pool: String(domain) }));
      // @ts-expect-error smtp_server_mail_from's sender is an EnvelopeAddress, not a string
      on('smtp_server_mail_from', (sender: string) => reject(550, sender));
      // @ts-expect-error get_queue_config answers a queue config, not a number
      on('get_queue_config', () => 5);
      // @ts-expect-error call() checks the arguments too
      void policy.call('get_queue_config', 5, undefined, undefined, undefined);
      // An event of the policy's own takes any handler.
      on('make.webhook', (_domain: string) => ({ send: () => 'ok' }));
    };
    expect(typeof typeOnly).toBe('function');
  });
});
