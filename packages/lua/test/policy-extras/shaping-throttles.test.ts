import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEgressPath, parseShapingAutomationRules } from '../../src/index.js';
import { dataPolicy } from './data-policy.js';

// The shaping helper's throttles: the additional_* maps merge key by key across blocks and
// files, and a provider's provider_* options become entries of those maps named for the
// provider and the source (KumoMTA's names), so they cap the source across the provider's
// sites. Providers match by DomainSuffix here: no DNS needed.

const BASE = `
["default"]
additional_connection_limits = { "global" = 100 }
additional_message_rate_throttles = { "global-rate" = "4,000/s" }

[provider."bigmail"]
match = [{ DomainSuffix = "bigmail.example" }]
provider_connection_limit = 5
provider_max_message_rate = "100/s"
provider_source_selection_rate = "1,000/day"

[provider."bigmail".sources."new-ip"]
provider_source_selection_rate = "500/d,max_burst=1"
max_deliveries_per_connection = 10

["bigmail.example"]
additional_source_selection_rates = { "warm" = "50/h" }
`;

const OVERLAY = `
["bigmail.example"]
additional_connection_limits = { "site" = 3 }
additional_source_selection_rates = { "warmer" = "80/h" }
`;

const POLICY = `
local shaping = require 'policy-extras.shaping'
local shaper = shaping:setup_with_automation {
  no_default_files = true,
  extra_files = { '{{dir}}/shaping.toml', '{{dir}}/overlay.toml' },
}
kumo.on('get_egress_path_config', shaper.get_egress_path_config)
kumo.on('bump', function() kumo.bump_config_epoch() end)
`;

describe('policy-extras.shaping: throttles and limits', () => {
  it('merges the additional_* maps and names the provider limits for the provider and source', async () => {
    const p = await dataPolicy(POLICY, { 'shaping.toml': BASE, 'overlay.toml': OVERLAY });
    const path = await p.call('get_egress_path_config', 'bigmail.example', 'old-ip', 'site');
    expect(path).toEqual({
      provider_name: 'bigmail',
      additional_connection_limits: {
        global: 100,
        site: 3,
        'shaping-provider-bigmail-old-ip-limit': 5,
      },
      additional_message_rate_throttles: {
        'global-rate': '4,000/s',
        'shaping-provider-bigmail-old-ip-rate': '100/s',
      },
      additional_source_selection_rates: {
        'shaping-provider-bigmail-old-ip-selection-rate': '1,000/day',
        warm: '50/h',
        warmer: '80/h',
      },
    });
    // What the helper gives is a valid egress path, the maps passed through to the daemon.
    expect(parseEgressPath(path)).toMatchObject({
      additional_connection_limits: { global: 100, site: 3 },
      additional_source_selection_rates: { warm: '50/h' },
    });
  });

  it("a provider's source block gives that source its own selection rate", async () => {
    const p = await dataPolicy(POLICY, { 'shaping.toml': BASE, 'overlay.toml': '' });
    const path = (await p.call('get_egress_path_config', 'bigmail.example', 'new-ip', 's')) as {
      max_deliveries_per_connection: number;
      additional_source_selection_rates: Record<string, string>;
      additional_connection_limits: Record<string, number>;
    };
    expect(path.max_deliveries_per_connection).toBe(10);
    expect(path.additional_source_selection_rates).toEqual({
      'shaping-provider-bigmail-new-ip-selection-rate': '500/d,max_burst=1',
      warm: '50/h',
    });
    expect(path.additional_connection_limits).toEqual({
      global: 100,
      'shaping-provider-bigmail-new-ip-limit': 5,
    });
    // A domain the provider does not match gets none of them.
    expect(await p.call('get_egress_path_config', 'other.example', 'new-ip', 's')).toEqual({
      additional_connection_limits: { global: 100 },
      additional_message_rate_throttles: { 'global-rate': '4,000/s' },
    });
  });

  it('a bad spec or limit is reported with the key as written', async () => {
    const BAD = `
[provider."p"]
match = [{ DomainSuffix = "p.example" }]
provider_max_message_rate = "100/fortnight"
provider_connection_limit = "many"

[provider."p".sources."s"]
provider_source_selection_rate = "0/d"

["d.example"]
additional_message_rate_throttles = { "x" = "10/sec/sec" }

["d.example".sources."s"]
provider_source_selection_rate = "1/d"
`;
    const p = await dataPolicy(
      `
      local shaping = require 'policy-extras.shaping'
      kumo.on('check', function()
        local _, problems = shaping.load({ '{{dir}}/shaping.toml' })
        return problems
      end)
      `,
      { 'shaping.toml': BAD },
    );
    const problems = Object.values(
      (await p.call('check')) as Record<string, { path: string; text: string }>,
    )
      .map(({ path, text }) => `${path}: ${text}`)
      .join('\n');
    expect(problems).toContain(
      "provider.'p'.provider_max_message_rate: invalid throttle '100/fortnight'",
    );
    expect(problems).toContain(
      `provider.'p'.provider_connection_limit: expected a whole number such as 32 or "1,000", got 'many'`,
    );
    expect(problems).toContain(
      "provider.'p'.sources.'s'.provider_source_selection_rate: invalid throttle '0/d'",
    );
    expect(problems).toContain(
      "additional_message_rate_throttles: entry 'x': invalid throttle '10/sec/sec'",
    );
    // provider_source_selection_rate belongs to provider source blocks only, as in KumoMTA.
    expect(problems).toContain(
      "'d.example'.sources.'s': unknown field 'provider_source_selection_rate'",
    );
  });
});

describe('policy-extras.shaping: the automation rules event', () => {
  const rules = (regex: string) => `
["default"]
connection_limit = 10

[["slow.example".automation]]
regex = "${regex}"
action = "Suspend"
duration = "2 hours"
`;

  it('returns the rules as at pre_init, and the changed file once the epoch moved on', async () => {
    const p = await dataPolicy(POLICY, {
      'shaping.toml': rules('4\\\\.7\\\\.28'),
      'overlay.toml': '',
    });
    await p.run('pre_init');
    const calls = p.configured.filter(([kind]) => kind === 'shaping_automation');
    expect(calls).toHaveLength(1);
    const handed = calls[0]![1] as { rules: unknown[] };
    const first = await p.call('sterna.shaping_automation_rules');
    expect(parseShapingAutomationRules(first)).toEqual(handed.rules);
    expect(parseShapingAutomationRules(first)).toEqual([
      {
        scope: 'domain',
        name: 'slow.example',
        file: `${p.dir}/shaping.toml`,
        mx_rollup: true,
        regex: '4\\.7\\.28',
        action: 'Suspend',
        trigger: 'Immediate',
        duration: 7200,
        match_internal: false,
      },
    ]);

    writeFileSync(join(p.dir, 'shaping.toml'), rules('RL0000'));
    // Cached until the configuration epoch moves on, like every helper's data.
    expect(parseShapingAutomationRules(await p.call('sterna.shaping_automation_rules'))).toEqual(
      handed.rules,
    );
    await p.run('bump');
    const after = parseShapingAutomationRules(await p.call('sterna.shaping_automation_rules'));
    expect(after.map((r) => r.regex)).toEqual(['RL0000']);
  });

  it('returns an empty list when the files hold no rule', async () => {
    const p = await dataPolicy(POLICY, { 'shaping.toml': '', 'overlay.toml': '' });
    expect(parseShapingAutomationRules(await p.call('sterna.shaping_automation_rules'))).toEqual(
      [],
    );
  });

  it('setup (without automation) registers no rules event', async () => {
    const p = await dataPolicy(
      `kumo.on('get_egress_path_config', require('policy-extras.shaping'):setup({}))`,
    );
    const outcome = await p.context.call('sterna.shaping_automation_rules', [], Date.now() + 5000);
    expect(outcome.status).toBe('none');
  });

  it('parseShapingAutomationRules refuses what the helper would never return, naming it', () => {
    expect(() =>
      parseShapingAutomationRules([
        { scope: 'domain', name: 'x', file: 'f', regex: 'r', action: 'Explode', duration: '1h' },
      ]),
    ).toThrow(/policy-extras\.shaping: \[1\]\.action/);
  });
});
