import { Resolver } from 'node:dns/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer } from '../dns-server.js';
import { dataPolicy } from './data-policy.js';

// Yahoo-hosted domains share one set of MX hosts, so one site; other.example has its own.
const yahooMx = [
  { exchange: 'mta5.am0.yahoodns.net', priority: 1 },
  { exchange: 'mta6.am0.yahoodns.net', priority: 1 },
];

const SHAPING = `
["default"]
connection_limit = 10
max_deliveries_per_connection = 100
max_connection_rate = "100/min"

[provider."yahoo"]
match = [{ MXSuffix = ".yahoodns.net" }]
max_deliveries_per_connection = 40
idle_timeout = "20s"
provider_connection_limit = 8

[provider."yahoo".sources."IP-2"]
connection_limit = 2

["yahoo.com"]
max_deliveries_per_connection = 20

["foo.com"]
mx_rollup = false
max_deliveries_per_connection = 50
connection_limit = 3

["foo.com".sources."IP-1"]
max_deliveries_per_connection = 5

["listed.example"]
mx_rollup = false
enable_tls = "Required"

[[provider."yahoo".automation]]
regex = "\\\\[TS04\\\\]"
action = "Suspend"
duration = "2 hours"

[["yahoo.com".automation]]
regex = "RL0000"
action = { SetConfig = { name = "max_connection_rate", value = "10/h" } }
trigger = { Threshold = "2/hr" }
duration = "90 minutes"
match_internal = true
`;

const POLICY = `
local shaping = require 'policy-extras.shaping'
local shaper = shaping:setup_with_automation {
  publish = { 'http://127.0.0.1:8008' },
  subscribe = { 'http://127.0.0.1:8008' },
  no_default_files = true,
  extra_files = { '{{dir}}/shaping.toml', '{{dir}}/overlay.json' },
}
kumo.on('init', function() shaper.setup_publish() end)
kumo.on('get_egress_path_config', shaper.get_egress_path_config)
`;

describe('policy-extras.shaping', () => {
  let dns: Awaited<ReturnType<typeof startDnsServer>>;
  let resolver: Resolver;
  beforeAll(async () => {
    dns = await startDnsServer({
      'yahoo.com': { MX: yahooMx },
      'foo.com': { MX: yahooMx },
      'bar.com': { MX: yahooMx },
      'other.example': { MX: [{ exchange: 'mx.other.example', priority: 10 }] },
      'listed.example': { MX: [{ exchange: 'mx.listed.example', priority: 10 }] },
      'gmail.com': { MX: [{ exchange: 'gmail-smtp-in.l.google.com', priority: 5 }] },
    });
    resolver = new Resolver({ timeout: 5000, tries: 1 });
    resolver.setServers([dns.server]);
  });
  afterAll(async () => {
    await dns.close();
  });

  // Later files merge over earlier ones (this one JSON); replace_base starts a section over.
  const overlay = JSON.stringify({
    'yahoo.com': { connection_limit: 7 },
    'listed.example': { replace_base: true, mx_rollup: false, connection_limit: 1 },
  });
  const load = () =>
    dataPolicy(POLICY, { 'shaping.toml': SHAPING, 'overlay.json': overlay }, resolver);

  it('merges default, provider, provider+source, site, domain and domain+source in that order', async () => {
    const p = await load();
    // foo.com is a Yahoo site but mx_rollup=false: its own block wins over yahoo.com's.
    expect(await p.call('get_egress_path_config', 'foo.com', 'IP-1', 'site')).toEqual({
      connection_limit: 3,
      max_deliveries_per_connection: 5,
      max_connection_rate: '100/min',
      idle_timeout: '20s',
      provider_name: 'yahoo',
      additional_connection_limits: { 'shaping-provider-yahoo-IP-1-limit': 8 },
    });
    // bar.com shares yahoo.com's MX hosts: yahoo.com's block (and the overlay's) roll up to it;
    // the provider's source block applies to IP-2 only.
    expect(await p.call('get_egress_path_config', 'bar.com', 'IP-2', 'site')).toMatchObject({
      connection_limit: 7,
      max_deliveries_per_connection: 20,
      idle_timeout: '20s',
    });
    expect(await p.call('get_egress_path_config', 'yahoo.com', 'IP-1', 'site')).toMatchObject({
      connection_limit: 7,
      max_deliveries_per_connection: 20,
    });
    // A destination matching nothing gets the default section alone.
    expect(await p.call('get_egress_path_config', 'other.example', 'IP-1', 'site')).toEqual({
      connection_limit: 10,
      max_deliveries_per_connection: 100,
      max_connection_rate: '100/min',
    });
  });

  it('replace_base discards what earlier files and sections gave', async () => {
    const p = await load();
    expect(await p.call('get_egress_path_config', 'listed.example', 'IP-1', 'site')).toEqual({
      connection_limit: 1,
    });
  });

  it('a provider source block applies to that source only', async () => {
    const p = await load();
    const two = (await p.call('get_egress_path_config', 'bar.com', 'IP-2', 's')) as Record<
      string,
      unknown
    >;
    const one = (await p.call('get_egress_path_config', 'bar.com', 'IP-1', 's')) as Record<
      string,
      unknown
    >;
    // The site block (yahoo.com, step 4) comes after the provider+source block (step 3).
    expect(two.connection_limit).toBe(7);
    expect(one.connection_limit).toBe(7);
    const p2 = await dataPolicy(
      POLICY.replace(", '{{dir}}/overlay.json'", ''),
      { 'shaping.toml': SHAPING },
      resolver,
    );
    expect(
      ((await p2.call('get_egress_path_config', 'bar.com', 'IP-2', 's')) as Record<string, unknown>)
        .connection_limit,
    ).toBe(2);
    expect(
      ((await p2.call('get_egress_path_config', 'bar.com', 'IP-1', 's')) as Record<string, unknown>)
        .connection_limit,
    ).toBe(10);
  });

  it('hands the automation rules to the daemon at pre_init, durations in seconds', async () => {
    const p = await load();
    await p.run('pre_init');
    await p.run('init');
    const calls = p.configured.filter(([kind]) => kind === 'shaping_automation');
    expect(calls).toHaveLength(1);
    const { rules } = calls[0]![1] as { rules: Record<string, unknown>[] };
    expect(rules).toEqual([
      {
        scope: 'provider',
        name: 'yahoo',
        file: `${p.dir}/shaping.toml`,
        match: [{ MXSuffix: '.yahoodns.net' }],
        regex: '\\[TS04\\]',
        action: 'Suspend',
        trigger: 'Immediate',
        duration: 7200,
        match_internal: false,
      },
      {
        scope: 'domain',
        name: 'yahoo.com',
        file: `${p.dir}/shaping.toml`,
        mx_rollup: true,
        regex: 'RL0000',
        action: { SetConfig: { name: 'max_connection_rate', value: '10/h' } },
        trigger: { Threshold: '2/hr' },
        duration: 5400,
        match_internal: true,
      },
    ]);
  });

  it("ships Sterna's own default file, loaded unless no_default_files", async () => {
    const p = await dataPolicy(
      `
      local shaping = require 'policy-extras.shaping'
      kumo.on('get_egress_path_config', shaping:setup())
      kumo.on('check', function()
        local _, problems = shaping.load({ shaping.DEFAULT_FILE })
        return problems
      end)
      `,
      {},
      resolver,
    );
    expect(await p.call('check')).toEqual({});
    const gmail = (await p.call('get_egress_path_config', 'gmail.com', 'src', 's')) as Record<
      string,
      unknown
    >;
    expect(gmail).toMatchObject({ provider_name: 'google', enable_tls: 'Required' });
    const other = (await p.call('get_egress_path_config', 'other.example', 'src', 's')) as Record<
      string,
      unknown
    >;
    expect(other.provider_name).toBeUndefined();
    expect(other.connection_limit).toBe(10);
  });

  it("names KumoMTA's packaged file: Sterna's default is read in its place", async () => {
    const p = await dataPolicy(
      `
      local shaping = require 'policy-extras.shaping'
      local shaper = shaping:setup_with_automation {
        no_default_files = true,
        extra_files = { '/opt/kumomta/share/policy-extras/shaping.toml', '/opt/kumomta/share/community/shaping.toml' },
      }
      kumo.on('get_egress_path_config', shaper.get_egress_path_config)
      `,
      {},
      resolver,
    );
    expect(await p.call('get_egress_path_config', 'gmail.com', 'src', 's')).toMatchObject({
      provider_name: 'google',
    });
    expect(p.logged.some(([, text]) => text.includes('community/shaping.toml'))).toBe(true);
  });

  describe('a mistake in a data file', () => {
    const BAD = `
["default"]
connection_limit = 10

["typo.example"]
connection_limt = 3

[["typo.example".automation]]
regex = "x"
action = "Suspnd"
duration = "2 fortnights"

[["typo.example".automation]]
regex = "(unclosed"
action = "Suspend"
duration = "1h"

[provider."p"]
max_deliveries_per_connection = 5
`;
    const policy = (source: string) => dataPolicy(source, { 'shaping.toml': BAD }, resolver);

    it('validate_config logs each naming the file and the key, then marks the validation failed', async () => {
      const p = await policy(`
        local shaping = require 'policy-extras.shaping'
        local shaper = shaping:setup_with_automation { no_default_files = true, extra_files = { '{{dir}}/shaping.toml' } }
        kumo.on('get_egress_path_config', shaper.get_egress_path_config)
      `);
      await p.run('validate_config');
      const errors = p.logged.filter(([level]) => level === 'error').map(([, text]) => text);
      const file = `${p.dir}/shaping.toml`;
      expect(errors).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            new RegExp(`^shaping helper: ${file}: 'typo\\.example': .*connection_limt`),
          ),
          expect.stringContaining(
            `${file}: 'typo.example'.automation[1].action: unknown action "Suspnd"`,
          ),
          expect.stringContaining(
            `${file}: 'typo.example'.automation[1].duration: invalid duration "2 fortnights"`,
          ),
          expect.stringContaining(
            `${file}: provider.'p'.match: a provider block needs a match list`,
          ),
          expect.stringContaining(
            `${file}: 'typo.example'.automation[2].regex: invalid regex "(unclosed"`,
          ),
        ]),
      );
      expect(p.configured.some(([kind]) => kind === 'validation_failed')).toBe(true);
    });

    it('at run time the handler raises naming the file and the key', async () => {
      const p = await policy(`
        local shaping = require 'policy-extras.shaping'
        kumo.on('get_egress_path_config', shaping:setup({ '{{dir}}/shaping.toml' }))
      `);
      const text = await p.fail('get_egress_path_config', 'a.example', 'src', 's');
      expect(text).toContain('"message":"shaping helper: ');
      expect(text).toContain(
        `${p.dir}/shaping.toml: 'typo.example': unknown field 'connection_limt'`,
      );
    });
  });
});
