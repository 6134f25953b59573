import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  errorLines,
  fixture,
  luaPolicy,
  outcome,
  testDns,
  tsBridge,
} from '../../test/fixtures/extras/harness.js';
import { on } from '../events.js';
import { shaping } from './index.js';

// Yahoo-hosted domains share one set of MX hosts, so one site; the others have their own.
const yahooMx = [
  { exchange: 'mta5.am0.yahoodns.net', priority: 1 },
  { exchange: 'mta6.am0.yahoodns.net', priority: 1 },
];
const RECORDS = {
  'yahoo.com': { MX: yahooMx },
  'foo.com': { MX: yahooMx },
  'bar.com': { MX: yahooMx },
  'other.example': { MX: [{ exchange: 'mx.other.example', priority: 10 }] },
  'listed.example': { MX: [{ exchange: 'mx.listed.example', priority: 10 }] },
  'vanity.example': { MX: [{ exchange: 'mx.corp-host.example', priority: 10 }] },
  'mixed.example': {
    MX: [
      { exchange: 'mta5.am0.yahoodns.net', priority: 1 },
      { exchange: 'mx.other.example', priority: 5 },
    ],
  },
  'gmail.com': { MX: [{ exchange: 'gmail-smtp-in.l.google.com', priority: 5 }] },
  'outlook.com': { MX: [{ exchange: 'outlook-com.olc.protection.outlook.com', priority: 5 }] },
};

const FILES = [fixture('shaping.toml'), fixture('overlay.jsonc')];
const luaList = (files: string[]) => files.map((f) => `'${f}'`).join(', ');

// Every (domain, source) the tests ask both helpers for: provider matches by MX suffix, domain
// suffix and host name, a mixed MX set, sites rolled up, mx_rollup=false, replace_base,
// source blocks, a domain with no MX at all.
const DOMAINS = [
  'yahoo.com',
  'bar.com',
  'foo.com',
  'FOO.com',
  'listed.example',
  'other.example',
  'x.corp.example',
  'vanity.example',
  'mixed.example',
  'nomx.example',
];
const SOURCES = ['IP-1', 'IP-2', 'unlisted'];

describe('shaping: the TypeScript helper answers as the Lua helper does', () => {
  let dns: Awaited<ReturnType<typeof testDns>>;
  let lua: Awaited<ReturnType<typeof luaPolicy>>;
  beforeAll(async () => {
    dns = await testDns(RECORDS);
    lua = await luaPolicy(
      `
      local shaping = require 'policy-extras.shaping'
      local shaper = shaping:setup_with_automation {
        publish = { 'http://127.0.0.1:8008' },
        no_default_files = true,
        extra_files = { ${luaList(FILES)} },
      }
      kumo.on('get_egress_path_config', shaper.get_egress_path_config)
      `,
      dns.resolver,
    );
  });
  afterAll(async () => {
    await lua?.close();
    await dns?.close();
  });

  const setupTs = () => {
    const ts = tsBridge(dns.resolver);
    const shaper = shaping.setupWithAutomation({
      publish: ['http://127.0.0.1:8008'],
      no_default_files: true,
      extra_files: FILES,
    });
    on('get_egress_path_config', shaper.getEgressPathConfig);
    return ts;
  };

  it('get_egress_path_config: the same merged options for every domain and source', async () => {
    const ts = setupTs();
    for (const domain of DOMAINS) {
      for (const source of SOURCES) {
        const args = [domain, source, 'site'];
        const fromLua = await lua.call('get_egress_path_config', ...args);
        const fromTs = await ts.call('get_egress_path_config', ...args);
        expect(fromTs, `${domain} via ${source}`).toEqual(fromLua);
      }
    }
  });

  it('the merge itself: provider limits, additional_* maps key by key, mx_rollup, replace_base', async () => {
    const ts = setupTs();
    expect(await ts.call('get_egress_path_config', 'bar.com', 'IP-2', 'site')).toEqual({
      connection_limit: 7,
      max_deliveries_per_connection: 20,
      max_connection_rate: '100/min',
      idle_timeout: '20s',
      provider_name: 'yahoo',
      additional_connection_limits: {
        'base-limit': 50,
        'shaping-provider-yahoo-IP-2-limit': 8,
        'yahoo-extra': 4,
        'overlay-limit': 6,
      },
      additional_message_rate_throttles: { 'shaping-provider-yahoo-IP-2-rate': '500/min' },
      additional_source_selection_rates: { 'shaping-provider-yahoo-IP-2-selection-rate': '100/h' },
    });
    // foo.com is a Yahoo site but mx_rollup=false: its own block, then its source block.
    expect(await ts.call('get_egress_path_config', 'foo.com', 'IP-1', 'site')).toMatchObject({
      connection_limit: 3,
      max_deliveries_per_connection: 5,
      provider_name: 'yahoo',
    });
    // replace_base in the overlay starts over: what was merged before it (the default
    // section's keys too) is dropped, as in the Lua helper.
    expect(await ts.call('get_egress_path_config', 'listed.example', 'IP-1', 'site')).toEqual({
      connection_limit: 1,
    });
    // A host-name match, and a domain-suffix match with its provider-wide selection rate.
    expect(await ts.call('get_egress_path_config', 'vanity.example', 'IP-1', 's')).toMatchObject({
      provider_name: 'corp',
      enable_tls: 'Required',
    });
    expect(await ts.call('get_egress_path_config', 'x.corp.example', 'IP-1', 's')).toMatchObject({
      additional_source_selection_rates: { 'shaping-provider-corp-IP-1-selection-rate': '10/min' },
    });
  });

  it('pre_init hands the same automation rules to the daemon; the reload event answers them too', async () => {
    const ts = setupTs();
    await lua.call('pre_init');
    await ts.call('pre_init');
    const rulesOf = (configured: [string, unknown][]) =>
      configured.filter(([kind]) => kind === 'shaping_automation').map(([, params]) => params);
    const fromLua = rulesOf(lua.configured);
    expect(fromLua).toHaveLength(1);
    expect(rulesOf(ts.configured)).toEqual(fromLua);
    expect((fromLua[0] as { rules: unknown[] }).rules).toHaveLength(2);
    expect(await ts.call(shaping.RULES_EVENT)).toEqual(
      await lua.call('sterna.shaping_automation_rules'),
    );
  });

  it("the shaper's other handlers answer nothing, as the Lua one's", async () => {
    setupTs();
    const shaper = shaping.setupWithAutomation({ no_default_files: true, extra_files: FILES });
    expect(shaper.shouldEnqueueLogRecord({}, 'hook')).toBeUndefined();
    expect(shaper.getQueueConfig('x.example')).toBeUndefined();
    expect(shaper.get_egress_path_config).toBe(shaper.getEgressPathConfig);
    expect(() => shaper.setupPublish()).not.toThrow();
  });

  it('an unknown option is refused, naming it', () => {
    tsBridge();
    expect(() =>
      // @ts-expect-error: extra_file is not an option (extra_files is)
      shaping.setupWithAutomation({ extra_file: FILES }),
    ).toThrow(/shaping\.setupWithAutomation: unknown option 'extra_file'/);
  });
});

describe("shaping: Sterna's default file, resolved from @sterna/lua", () => {
  let dns: Awaited<ReturnType<typeof testDns>>;
  let lua: Awaited<ReturnType<typeof luaPolicy>>;
  beforeAll(async () => {
    dns = await testDns(RECORDS);
    lua = await luaPolicy(
      `
      local shaping = require 'policy-extras.shaping'
      kumo.on('get_egress_path_config', shaping:setup { '${fixture('overlay.jsonc')}' })
      `,
      dns.resolver,
    );
  });
  afterAll(async () => {
    await lua?.close();
    await dns?.close();
  });

  it('is the Lua helper’s file, and setup() merges the extra files over it alike', async () => {
    expect(existsSync(shaping.defaultShapingFile())).toBe(true);
    expect(shaping.defaultShapingFile()).toMatch(
      /[/\\]lua[/\\](src|dist)[/\\]policy-extras[/\\]shaping\.toml$/,
    );
    const ts = tsBridge(dns.resolver);
    on('get_egress_path_config', shaping.setup([fixture('overlay.jsonc')]));
    for (const domain of ['gmail.com', 'outlook.com', 'yahoo.com', 'other.example']) {
      const fromLua = await lua.call('get_egress_path_config', domain, 'IP-1', 'site');
      expect(await ts.call('get_egress_path_config', domain, 'IP-1', 'site'), domain).toEqual(
        fromLua,
      );
    }
    expect(await ts.call('get_egress_path_config', 'gmail.com', 'IP-1', 'site')).toMatchObject({
      provider_name: 'google',
      enable_tls: 'Required',
      idle_timeout: '45s',
    });
  });
});

describe('shaping: a mistake is reported naming the file and the key, in the Lua words', () => {
  const BAD = [fixture('bad-shaping.toml')];
  let lua: Awaited<ReturnType<typeof luaPolicy>>;
  beforeAll(async () => {
    lua = await luaPolicy(`
      local shaper = require('policy-extras.shaping'):setup_with_automation {
        no_default_files = true, extra_files = { ${luaList(BAD)} },
      }
      kumo.on('get_egress_path_config', shaper.get_egress_path_config)
    `);
  });
  afterAll(async () => {
    await lua?.close();
  });

  it('validate_config logs the same lines and marks the validation failed', async () => {
    const ts = tsBridge();
    const shaper = shaping.setupWithAutomation({ no_default_files: true, extra_files: BAD });
    on('get_egress_path_config', shaper.getEgressPathConfig);
    await lua.call('validate_config');
    await ts.call('validate_config');
    expect(errorLines(ts.logged)).toEqual(errorLines(lua.logged));
    expect(errorLines(ts.logged)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          new RegExp(`^shaping helper: ${BAD[0]}: 'typo\\.example': .*connection_limt`),
        ),
        `shaping helper: ${BAD[0]}: provider.'nomatch'.match: a provider block needs a match list`,
        `shaping helper: ${BAD[0]}: provider.'nomatch'.automation[1].action: unknown action "Explode"`,
        expect.stringContaining(
          `shaping helper: ${BAD[0]}: provider.'nomatch'.automation[1].duration: invalid duration "3 fortnights"`,
        ),
      ]),
    );
    expect(ts.configured.map(([kind]) => kind)).toContain('validation_failed');

    // At run time the handler throws the same text; pre_init logs it and goes on.
    const fromTs = await outcome(() => ts.call('get_egress_path_config', 'x.example', 'IP-1', 's'));
    const fromLua = await outcome(() =>
      lua.call('get_egress_path_config', 'x.example', 'IP-1', 's'),
    );
    expect(fromTs.error).toMatch(/^shaping helper: .*bad-shaping\.toml: /);
    expect(fromLua.error).toContain(fromTs.error);
    ts.logged.length = 0;
    await ts.call('pre_init');
    expect(ts.logged).toEqual([['error', fromTs.error]]);
  });
});
