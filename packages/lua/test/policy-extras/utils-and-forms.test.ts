import { Resolver } from 'node:dns/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PolicyRuntime,
  parseEgressPool,
  parseEgressSource,
  parseListenerDomain,
} from '../../src/index.js';
import { startDnsServer } from '../dns-server.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('policy_utils and docker_utils', () => {
  let dns: Awaited<ReturnType<typeof startDnsServer>>;
  let runtime: PolicyRuntime;
  const hostname = process.env.HOSTNAME;
  beforeAll(async () => {
    dns = await startDnsServer({
      'kumo-1.docker.test': { A: ['172.18.0.5'] },
      tsa: { A: ['172.18.0.7', '172.18.0.8'] },
    });
    const resolver = new Resolver({ timeout: 5000, tries: 1 });
    resolver.setServers([dns.server]);
    runtime = await PolicyRuntime.start({
      policy: fixture('utils.lua'),
      poolSize: 1,
      spare: false,
      host: { resolver, log: () => {}, print: () => {} },
    });
  });
  afterAll(async () => {
    if (hostname === undefined) delete process.env.HOSTNAME;
    else process.env.HOSTNAME = hostname;
    await runtime.close();
    await dns.close();
  });

  const call = async (event: string, args: unknown[] = []) =>
    (await runtime.call(event, args)).value;

  it('merge_into copies one level, recursive_merge_into merges nested tables', async () => {
    expect(await call('merge')).toEqual({
      shallow: { a: 1, b: 2, nested: { z: 3 } },
      deep: { a: 1, b: 2, nested: { x: 1, y: 20, z: 3 } },
    });
  });

  it('table helpers and deep equality', async () => {
    expect(await call('tables')).toEqual({
      contains: true,
      contains_nil: false,
      missing: false,
      keys: ['a', 'b'],
      empty: true,
      not_empty: false,
      equal: true,
      unequal: false,
    });
  });

  it('assert_eq and assert_ne raise at the caller with both values as JSON', async () => {
    const result = (await call('asserts')) as Record<string, string>;
    expect(result.eq).toBe('numbers differ. expected\n1\n == \n2');
    expect(result.ne).toBe('expected\n[1]\n != \n[1]');
  });

  it('assert_matches matches a Rust-syntax regex through kumo.regex', async () => {
    const result = (await call('asserts')) as Record<string, string>;
    expect(result.matches).toBe('no number. expected\n "mx.example.com"\n to match\n "^mx\\d"');
    expect(result.bad_pattern).toContain('(unclosed');
  });

  it('strings, addresses and dumps', async () => {
    expect(await call('strings')).toEqual({
      starts: true,
      not_starts: false,
      ends: true,
      ends_empty: true,
      split: ['127.0.0.1', '25', '::1', '2525'],
      dumped: '{\n  ["a"] = "x",\n  ["b"] = {\n    [1] = 1,\n    [2] = 2\n  },\n  ["c"] = true\n}',
    });
  });

  it('load_json_or_toml_file reads by extension; a table is the data itself', async () => {
    const section = { number: 2, list: ['a', 'b'] };
    expect(
      await call('load', [
        fixture('forms/data.toml'),
        fixture('forms/data.json'),
        fixture('forms/data.yaml'),
      ]),
    ).toEqual({
      toml: { section },
      json: { section },
      yaml: { section },
      inline: { already: 'data' },
    });
  });

  it('docker_utils: the network around $HOSTNAME, the tsa endpoints', async () => {
    delete process.env.HOSTNAME;
    expect(await call('docker_unset')).toContain('HOSTNAME is not set in the environment');
    process.env.HOSTNAME = 'kumo-1.docker.test';
    expect(await call('docker')).toEqual({
      name: ['172.18.0.5'],
      network: '172.18.0.0/24',
      tsa: ['http://172.18.0.7:8008', 'http://172.18.0.8:8008'],
    });
  });
});

describe('data as Lua tables, JSON and YAML, several sources merged in order', () => {
  let runtime: PolicyRuntime;
  beforeAll(async () => {
    runtime = await PolicyRuntime.start({
      policy: fixture('forms/policy.lua'),
      poolSize: 1,
      spare: false,
      host: { log: () => {}, print: () => {}, configure: () => {} },
    });
  });
  afterAll(() => runtime.close());

  it('sources: a pool built from a table and a JSON file', async () => {
    expect(parseEgressPool((await runtime.call('get_egress_pool', ['lt-pool'])).value)).toEqual({
      name: 'lt-pool',
      entries: [
        { name: 'json-1', weight: 1 },
        { name: 'lt-1', weight: 3 },
      ],
      ttl: 60,
    });
    expect((await runtime.call('get_egress_source', ['lt-1'])).value).toEqual({
      name: 'lt-1',
      source_address: '127.0.0.2',
      ehlo_domain: 'lt1.example',
    });
    // every make_egress_source option passes through, proxies included
    expect(parseEgressSource((await runtime.call('get_egress_source', ['json-1'])).value)).toEqual({
      name: 'json-1',
      source_address: '127.0.0.3',
      remote_port: 2525,
      ttl: 300,
      ha_proxy_server: '127.0.0.1:5000',
      ha_proxy_source_address: '10.1.1.1',
      socks5_proxy_server: '127.0.0.1:1080',
      socks5_proxy_source_address: '10.1.1.2',
      suspend_when_unplumbed: false,
      suspend_when_proxy_unhealthy: false,
    });
  });

  it('queue: a YAML file merged over a table', async () => {
    expect((await runtime.call('get_queue_config', ['x.example', 'inline'])).value).toEqual({
      max_age: '5 hours',
      egress_pool: 'lt-pool',
    });
    expect((await runtime.call('get_queue_config', ['yaml.example'])).value).toEqual({
      max_age: '1 day',
      retry_interval: '2 mins',
    });
    const data = new TextEncoder().encode('X-Tenant: yaml-tenant\r\n\r\nbody\r\n');
    const received = await runtime.call('smtp_server_message_received', [
      { id: '0'.repeat(32), sender: 's@a.example', recipients: ['r@b.example'], meta: {}, data },
      {},
    ]);
    expect(received.messages[0]?.meta).toMatchObject({ tenant: 'yaml-tenant' });
  });

  it("queue: another helper's log_hook queue is left to it", async () => {
    expect((await runtime.call('get_queue_config', ['hook.log_hook'])).value).toEqual({
      protocol: { custom_lua: { constructor: 'make.hook' } },
    });
  });

  it('listener_domains: a JSON file and a table', async () => {
    const domain = async (name: string) =>
      parseListenerDomain((await runtime.call('get_listener_domain', [name, '', {}])).value);
    expect(await domain('json.example')).toMatchObject({ relay_to: true, log_oob: 'LogThenRelay' });
    expect(await domain('table.example')).toMatchObject({ relay_to: true, log_oob: 'Ignore' });
    expect((await runtime.call('get_listener_domain', ['other.example', '', {}])).value).toBe(
      undefined,
    );
  });

  it('validate_config finds nothing wrong', async () => {
    const logged: string[] = [];
    const configured: string[] = [];
    const checked = await PolicyRuntime.start({
      policy: fixture('forms/policy.lua'),
      poolSize: 1,
      spare: false,
      host: {
        log: (_l, line) => logged.push(line),
        print: () => {},
        configure: (kind) => {
          configured.push(kind);
        },
      },
    });
    try {
      await checked.call('validate_config');
      expect(logged).toEqual([]);
      expect(configured).not.toContain('validation_failed');
    } finally {
      await checked.close();
    }
  });
});
