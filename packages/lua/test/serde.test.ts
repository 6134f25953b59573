import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { inlinePolicy } from './inline-policy.js';

const SOURCES_TOML = `# sources as the sources helper reads them
[source."ip-1"]
source_address = "10.0.0.1"
ehlo_domain = "mta1.example.com"

[pool."BestReputation"."ip-1"]
weight = 2

[[rules]]
regex = "^4"
action = "Suspend"
duration = "2 hours"

[dates]
offset = 1979-05-27T07:32:00Z
local_date = 1979-05-27
ratio = 0.25
`;

const BAD_TOML = `[queue."example.com"]
max_age = "1 hour"
retry_interval = = "5 minutes"
`;

const QUEUES_YAML = `tenants:
  acme:
    egress_pool: pool-a
    domains: [example.com, example.net]
empty: ~
flag: yes
`;

const BAD_YAML = `tenants:
  acme: [one,
    two: : 3
`;

const BAD_JSON = `{
  "a": 1,
  "b": ,
}`;

const POLICY = `
kumo.on('load', function(kind, name)
  return kumo.serde[kind .. '_load'](name)
end)
kumo.on('alias_load', function(kind, name) return kumo[kind .. '_load'](name) end)
kumo.on('parse', function(kind, text) return kumo.serde[kind .. '_parse'](text) end)
kumo.on('encode', function(kind, value) return kumo.serde[kind .. '_encode'](value) end)
kumo.on('round_trip', function(kind, value)
  return kumo.serde[kind .. '_parse'](kumo.serde[kind .. '_encode'](value))
end)
kumo.on('pretty_same', function(value)
  return kumo.toml_encode_pretty(value) == kumo.serde.toml_encode(value)
end)
kumo.on('typed', function(name)
  local t = kumo.serde.toml_load(name)
  local w = t.pool.BestReputation['ip-1'].weight
  return { math.type(w), math.type(t.dates.ratio), t.rules[1].action }
end)
kumo.on('encode_non_table', function() return kumo.serde.toml_encode({ 1, 2, 3 }) end)
kumo.on('config_calls', function()
  kumo.set_config_monitor_globs { '/etc/sterna/**/*.{lua,toml}', '/opt/data/*.json' }
  kumo.bump_config_epoch()
  kumo.validation_failed()
end)
kumo.on('bad_globs', function() kumo.set_config_monitor_globs('/etc/*.toml') end)
`;

describe('kumo.serde TOML, YAML and JSON', () => {
  let policy: Awaited<ReturnType<typeof inlinePolicy>>;
  const file = (name: string) => join(policy.dir, name);
  beforeAll(async () => {
    policy = await inlinePolicy(POLICY, {
      'sources.toml': SOURCES_TOML,
      'bad.toml': BAD_TOML,
      'queues.yaml': QUEUES_YAML,
      'bad.yaml': BAD_YAML,
      'bad.json': BAD_JSON,
    });
  });

  it('toml_load reads a data file into tables; dates are their TOML text', async () => {
    const data = await policy.call('load', 'toml', file('sources.toml'));
    expect(data).toEqual({
      source: { 'ip-1': { source_address: '10.0.0.1', ehlo_domain: 'mta1.example.com' } },
      pool: { BestReputation: { 'ip-1': { weight: 2 } } },
      rules: [{ regex: '^4', action: 'Suspend', duration: '2 hours' }],
      dates: { offset: '1979-05-27T07:32:00.000Z', local_date: '1979-05-27', ratio: 0.25 },
    });
    expect(await policy.call('alias_load', 'toml', file('sources.toml'))).toEqual(data);
    expect(await policy.call('typed', file('sources.toml'))).toEqual([
      'integer',
      'float',
      'Suspend',
    ]);
  });

  it('a TOML mistake names the file, the line and the column', async () => {
    const message = await policy.fail('load', 'toml', file('bad.toml'));
    expect(message).toContain(`kumo.serde.toml_load: ${file('bad.toml')}: line 3, column 18:`);
    expect(await policy.fail('parse', 'toml', 'a = 1\nb = [1,\nc == 2\n')).toContain(
      'kumo.serde.toml_parse: line 3, column 1:',
    );
    expect(await policy.fail('load', 'toml', file('missing.toml'))).toContain(
      'kumo.serde.toml_load: ENOENT: no such file or directory',
    );
  });

  it('TOML round trips through toml_encode and toml_parse', async () => {
    const value = {
      listener: { listen: '0.0.0.0:25', relay_hosts: ['127.0.0.1', '10.0.0.0/8'] },
      queue: { 'example.com': { max_age: '1 hour', retry_interval: 300 } },
      enabled: true,
    };
    expect(await policy.call('round_trip', 'toml', value)).toEqual(value);
    expect(await policy.call('encode', 'toml', { a: 'b' })).toBe('a = "b"\n');
    expect(await policy.call('pretty_same', value)).toBe(true);
    expect(await policy.fail('encode_non_table')).toContain(
      'kumo.serde.toml_encode: TOML can only encode a table of keys',
    );
  });

  it('yaml_load, yaml_parse and yaml_encode (YAML 1.2: yes is a string, ~ is nil)', async () => {
    expect(await policy.call('load', 'yaml', file('queues.yaml'))).toEqual({
      tenants: { acme: { egress_pool: 'pool-a', domains: ['example.com', 'example.net'] } },
      flag: 'yes',
    });
    const value = { a: [1, { b: 'two' }], c: 'x' };
    expect(await policy.call('encode', 'yaml', value)).toBe('a:\n  - 1\n  - b: two\nc: x\n');
    expect(await policy.call('round_trip', 'yaml', value)).toEqual(value);
  });

  it('a YAML mistake names the file, the line and the column', async () => {
    expect(await policy.fail('load', 'yaml', file('bad.yaml'))).toContain(
      `kumo.serde.yaml_load: ${file('bad.yaml')}: line 3, column 10: Unexpected : in flow sequence`,
    );
  });

  it('json_load names the file and the line of a mistake; comments are accepted', async () => {
    expect(await policy.fail('load', 'json', file('bad.json'))).toMatch(
      new RegExp(`kumo\\.serde\\.json_load: ${file('bad.json')}: line 3, column 8: `),
    );
    expect(await policy.call('parse', 'json', '{"a": 1 // one\n}')).toEqual({ a: 1 });
    expect(await policy.call('alias_load', 'json', file('missing.json')).catch(String)).toContain(
      'kumo.serde.json_load: ENOENT',
    );
  });
});

describe('configuration monitoring calls', () => {
  it('hand their kind and parameters to the daemon', async () => {
    const policy = await inlinePolicy(POLICY);
    await policy.call('config_calls');
    expect(policy.configured).toEqual([
      ['config_monitor_globs', { globs: ['/etc/sterna/**/*.{lua,toml}', '/opt/data/*.json'] }],
      ['config_epoch_bump', {}],
      ['validation_failed', {}],
    ]);
    expect(await policy.fail('bad_globs')).toContain('kumo.set_config_monitor_globs');
  });
});
