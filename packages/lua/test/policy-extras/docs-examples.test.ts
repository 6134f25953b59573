import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isLuaRejection,
  type MessageSnapshot,
  PolicyRuntime,
  parseEgressPool,
  parseEgressSource,
  parseListenerDomain,
  parseQueueConfig,
} from '../../src/index.js';

const policy = fileURLToPath(new URL('./fixtures/docs/policy.lua', import.meta.url));

/** A message as the listener hands it to smtp_server_message_received. */
function message(recipient: string, headers: string, meta: Record<string, unknown> = {}) {
  const data = new TextEncoder().encode(`${headers}Subject: hi\r\n\r\nbody\r\n`);
  return { id: '0'.repeat(32), sender: 's@sender.example', recipients: [recipient], meta, data };
}

const text = (snapshot: MessageSnapshot | undefined) =>
  new TextDecoder().decode(snapshot?.data ?? new Uint8Array());

describe("the docs' example data files through the helpers", () => {
  let runtime: PolicyRuntime;
  const logged: string[] = [];
  const configured: string[] = [];
  beforeAll(async () => {
    runtime = await PolicyRuntime.start({
      policy,
      poolSize: 1,
      spare: false,
      host: {
        log: (_level, line) => logged.push(line),
        print: () => {},
        configure: (kind) => {
          configured.push(kind);
        },
      },
    });
  });
  afterAll(() => runtime.close());

  const queueConfig = async (domain: string, tenant?: string, campaign?: string) =>
    (await runtime.call('get_queue_config', [domain, tenant, campaign, undefined])).value;

  it('queue: domain settings, overridden by the tenant, then by domain+tenant and campaign', async () => {
    expect(await queueConfig('other.example')).toEqual({ max_age: '24 hours' });
    expect(await queueConfig('gmail.com')).toEqual({
      max_age: '22 hours',
      retry_interval: '17 mins',
    });
    expect(parseQueueConfig(await queueConfig('gmail.com'))).toMatchObject({
      max_age: 22 * 3600,
      retry_interval: 17 * 60,
    });
    // the tenant's max_age beats the domain's
    expect(await queueConfig('gmail.com', 'mytenant')).toEqual({
      max_age: '10 hours',
      retry_interval: '17 mins',
      egress_pool: 'pool-2',
      max_message_rate: '100/s',
    });
    // the campaign's beats the tenant's
    expect(await queueConfig('gmail.com', 'mytenant', 'welcome-campaign')).toMatchObject({
      max_age: '2 hours',
      egress_pool: 'pool-2',
      max_message_rate: '100/s',
    });
    expect(await queueConfig('yahoo.com', 'mytenant', 'welcome-campaign')).toEqual({
      max_age: '10 hours',
      egress_pool: 'pool-2',
    });
  });

  it('queue: a protocol per queue, wildcard domains', async () => {
    expect(parseQueueConfig(await queueConfig('a.hosted.example')).protocol).toEqual({
      maildir_path: '/var/tmp/sterna-maildir',
    });
    expect(parseQueueConfig(await queueConfig('b.c.hosted.example')).protocol).toEqual({
      maildir_path: '/var/tmp/sterna-maildir',
    });
    expect(parseQueueConfig(await queueConfig('hosted.example')).protocol).toEqual({ smtp: {} });
    expect(parseQueueConfig(await queueConfig('SmartHost.Example')).protocol).toEqual({
      smtp: { mx_list: ['10.0.0.9:2525'] },
    });
  });

  it('queue: apply takes tenant and campaign from the headers and removes them', async () => {
    const result = await runtime.call('smtp_server_message_received', [
      message('u@gmail.com', 'X-Tenant: mytenant\r\nX-Campaign: welcome-campaign\r\n'),
      {},
    ]);
    const [out] = result.messages;
    expect(out?.meta).toMatchObject({ tenant: 'mytenant', campaign: 'welcome-campaign' });
    expect(text(out)).not.toMatch(/X-Tenant|X-Campaign/);
  });

  it('queue: without the header, the default tenant; routing_domain from the queue entry', async () => {
    const result = await runtime.call('smtp_server_message_received', [
      message('u@my.own.hostname', ''),
      {},
    ]);
    expect(result.messages[0]?.meta).toMatchObject({
      tenant: 'default-tenant',
      routing_domain: '[10.0.0.1]',
    });
    expect(result.messages[0]?.meta).not.toHaveProperty('campaign');
  });

  it('queue: an unknown tenant is rejected; require_authz is enforced', async () => {
    const unknown = await runtime
      .call('smtp_server_message_received', [message('u@gmail.com', 'X-Tenant: nobody\r\n'), {}])
      .catch((e: unknown) => e);
    expect(isLuaRejection(unknown) && [unknown.code, unknown.text]).toEqual([
      500,
      'tenant nobody is not configured',
    ]);
    const anonymous = await runtime
      .call('smtp_server_message_received', [
        message('u@gmail.com', 'X-Tenant: authtenant\r\n'),
        {},
      ])
      .catch((e: unknown) => e);
    expect(isLuaRejection(anonymous) && anonymous.text).toBe(
      'an unauthenticated client is not authorized to use tenant authtenant',
    );
    const wrong = await runtime
      .call('smtp_server_message_received', [
        message('u@gmail.com', 'X-Tenant: authtenant\r\n', { authz_id: 'mallory' }),
        {},
      ])
      .catch((e: unknown) => e);
    expect(isLuaRejection(wrong) && wrong.text).toBe(
      "'mallory' is not authorized to use tenant authtenant",
    );
    const allowed = await runtime.call('smtp_server_message_received', [
      message('u@gmail.com', 'X-Tenant: authtenant\r\n', { authz_id: 'daniel' }),
      {},
    ]);
    expect(allowed.messages[0]?.meta).toMatchObject({ tenant: 'authtenant' });
  });

  it('queue: the scheduling header becomes the message scheduling', async () => {
    const schedule = '{"dow":"Mon,Wed","tz":"America/Phoenix","start":"09:00:00","end":"17:00:00"}';
    const result = await runtime.call('smtp_server_message_received', [
      message('u@gmail.com', `X-Schedule: ${schedule}\r\n`),
      {},
    ]);
    const [out] = result.messages;
    expect(text(out)).not.toContain('X-Schedule');
    expect(out?.scheduling).toMatchObject({ tz: 'America/Phoenix' });
  });

  it('sources: each source as make_egress_source, each pool with its weights', async () => {
    const source = (await runtime.call('get_egress_source', ['ip-2'])).value;
    expect(source).toEqual({
      name: 'ip-2',
      source_address: '10.0.0.2',
      ehlo_domain: 'mta2.examplecorp.com',
    });
    expect(parseEgressSource(source)).toMatchObject({ ttl: 60 });
    expect(parseEgressPool((await runtime.call('get_egress_pool', ['pool-1'])).value)).toEqual({
      name: 'pool-1',
      entries: [{ name: 'ip-1', weight: 1 }],
      ttl: 60,
    });
    expect(parseEgressPool((await runtime.call('get_egress_pool', ['pool-2'])).value)).toEqual({
      name: 'pool-2',
      entries: [
        { name: 'ip-2', weight: 2 },
        { name: 'ip-3', weight: 1 },
      ],
      ttl: 60,
    });
    await expect(runtime.call('get_egress_pool', ['pool-9'])).rejects.toThrow(
      /sources helper: no pool named 'pool-9'/,
    );
  });

  it('listener_domains: exact, wildcard, default and per-listener entries', async () => {
    const domain = async (name: string, listener = '0.0.0.0:25') => {
      const { value } = await runtime.call('get_listener_domain', [name, listener, {}]);
      return value === undefined ? undefined : parseListenerDomain(value);
    };
    expect(await domain('example.com')).toMatchObject({ relay_to: true, log_oob: 'Ignore' });
    expect(await domain('EXAMPLE.com')).toMatchObject({ relay_to: true });
    expect(await domain('bounce.example.com')).toMatchObject({
      relay_to: false,
      log_oob: 'LogThenRelay',
    });
    expect(await domain('send.example.com')).toMatchObject({ relay_from: ['10.0.0.0/24'] });
    expect(await domain('auth-send.example.com')).toMatchObject({
      relay_from_authz: ['username1', 'username2'],
    });
    expect(await domain('mail.example.com')).toEqual({
      relay_to: true,
      relay_from: [],
      relay_from_authz: [],
      log_oob: 'LogThenRelay',
      log_arf: 'LogThenRelay',
    });
    expect(await domain('www.example.com')).toMatchObject({ relay_to: false, log_arf: 'Ignore' });
    expect(await domain('elsewhere.org')).toMatchObject({
      relay_to: false,
      log_oob: 'LogThenRelay',
      log_arf: 'LogThenRelay',
    });
    // on 127.0.0.1:25 the listener's own wildcard entry is used whole
    expect(await domain('mail.example.com', '127.0.0.1:25')).toEqual({
      relay_to: false,
      relay_from: [],
      relay_from_authz: [],
      log_oob: 'Ignore',
      log_arf: 'Ignore',
    });
    expect(await domain('example.com', '127.0.0.1:25')).toMatchObject({ relay_to: true });
  });

  it('validate_config passes for the documented files', async () => {
    configured.length = 0;
    logged.length = 0;
    await runtime.call('validate_config');
    expect(logged).toEqual([]);
    expect(configured).not.toContain('validation_failed');
  });
});
