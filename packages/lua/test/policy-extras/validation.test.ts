import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyRuntime } from '../../src/index.js';
import { dataPolicy } from './data-policy.js';

/** Data files with one mistake each (and a policy using them), in a fresh folder. */
function writeFiles(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sterna-extras-validate-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const QUEUES = `
tenant_header = "X-Tenant"
default_tenant = "nobody"

[tenant.'t1']
max_age = '17 minz'

[tenant.'t2']
egress_pool = 'pool-9'

[queue.'gmail.com']
retry_intervall = '5 mins'

[queue.'gmail.com'.'ghost']
max_age = '1 hour'

[queue.'fine.example']
max_age = '1 hour'
`;

const SOURCES = `
[source.'ip-1']
source_adress = '10.0.0.1'

[source.'ip-2']
source_address = '10.0.0.2'

[pool.'pool-1'.'ip-2']
wieght = 2

[pool.'pool-2'.'ip-2']
[pool.'pool-2'.'ip-9']
`;

const LISTENER_DOMAINS = `
["example.com"]
relay_too = true

["ok.example"]
relay_to = true
`;

function policyFor(dir: string, queueFiles: string[], sourceFiles: string[]): string {
  const list = (names: string[]) => names.map((n) => `'${join(dir, n)}'`).join(', ');
  return `
local kumo = require 'kumo'
local listener_domains = require 'policy-extras.listener_domains'
kumo.on('get_listener_domain', listener_domains:setup { ${list(['listener_domains.toml', 'missing.json'])} })
local sources = require 'policy-extras.sources'
sources:setup { ${list(sourceFiles)} }
local queue_helper = require('policy-extras.queue'):setup { ${list(queueFiles)} }
`;
}

describe('a mistake in a data file is reported naming the file and the key', () => {
  const dir = writeFiles({
    'queues.toml': QUEUES,
    'extra.json': '{ "tenant_heder": "X-Tenant" }',
    'sources.toml': SOURCES,
    'sources-run.toml': SOURCES.replace('wieght', 'weight'),
    'listener_domains.toml': LISTENER_DOMAINS,
  });
  writeFileSync(
    join(dir, 'validate.lua'),
    policyFor(dir, ['queues.toml', 'extra.json'], ['sources.toml']),
  );
  writeFileSync(join(dir, 'run.lua'), policyFor(dir, ['queues.toml'], ['sources-run.toml']));
  const file = (name: string) => join(dir, name);

  let validating: PolicyRuntime;
  let running: PolicyRuntime;
  const logged: string[] = [];
  const configured: string[] = [];
  beforeAll(async () => {
    const host = {
      log: (_level: string, line: string) => logged.push(line),
      print: () => {},
      configure: (kind: string) => {
        configured.push(kind);
      },
    };
    validating = await PolicyRuntime.start({
      policy: file('validate.lua'),
      poolSize: 1,
      spare: false,
      host,
    });
    running = await PolicyRuntime.start({ policy: file('run.lua'), poolSize: 1, spare: false });
  });
  afterAll(async () => {
    await validating.close();
    await running.close();
  });

  it('validate_config logs every mistake and marks the validation failed', async () => {
    await validating.call('validate_config');
    expect(configured).toContain('validation_failed');
    const expected: [string, RegExp][] = [
      // queue helper
      [file('extra.json'), /queue helper: .*extra\.json: tenant_heder: unknown key/],
      [file('queues.toml'), /queues\.toml: tenant\.'t1'\.max_age: .*17 minz/],
      [file('queues.toml'), /queues\.toml: queue\.'gmail\.com'\.retry_intervall: .*unknown field/],
      [
        file('queues.toml'),
        /queues\.toml: queue\.'gmail\.com'\.'ghost': tenant 'ghost' is not defined/,
      ],
      [file('queues.toml'), /queues\.toml: default_tenant: tenant 'nobody' is not defined/],
      [
        file('queues.toml'),
        /queues\.toml: tenant\.'t2'\.egress_pool: egress pool 'pool-9' is not defined/,
      ],
      // sources helper
      [
        file('sources.toml'),
        /sources helper: .*sources\.toml: source\.'ip-1'\.source_adress: .*unknown field/,
      ],
      [file('sources.toml'), /sources\.toml: pool\.'pool-1'\.'ip-2'\.wieght: unknown key/],
      [file('sources.toml'), /sources\.toml: pool\.'pool-2'\.'ip-9': source 'ip-9' is not defined/],
      // listener_domains helper
      [
        file('listener_domains.toml'),
        /listener_domains\.toml: 'example\.com'\.relay_too: .*unknown field/,
      ],
      [file('missing.json'), /listener_domains helper: .*missing\.json: /],
    ];
    for (const [name, pattern] of expected) {
      expect(
        logged.some((line) => line.includes(name) && pattern.test(line)),
        `${pattern}\n${logged.join('\n')}`,
      ).toBe(true);
    }
    expect(logged.some((line) => line.includes('fine.example'))).toBe(false);
    expect(logged.some((line) => line.includes('ok.example'))).toBe(false);
    expect(logged).toHaveLength(expected.length);
  });

  it('at run time, the mistake a call meets raises naming the file and the key', async () => {
    await expect(running.call('get_queue_config', ['gmail.com'])).rejects.toThrow(
      `queue helper: ${file('queues.toml')}: queue.'gmail.com'.retry_intervall: `,
    );
    await expect(running.call('get_queue_config', ['x.example', 't1'])).rejects.toThrow(
      `queue helper: ${file('queues.toml')}: tenant.'t1'.max_age: `,
    );
    // entries without a mistake still work
    expect((await running.call('get_queue_config', ['fine.example'])).value).toEqual({
      max_age: '1 hour',
    });
    await expect(running.call('get_egress_source', ['ip-1'])).rejects.toThrow(
      `sources helper: ${file('sources-run.toml')}: source.'ip-1'.source_adress: `,
    );
    await expect(running.call('get_egress_source', ['ip-9'])).rejects.toThrow(
      `sources helper: ${file('sources-run.toml')}: pool.'pool-2'.'ip-9': source 'ip-9' is not defined`,
    );
    expect((await running.call('get_egress_pool', ['pool-1'])).value).toEqual({
      name: 'pool-1',
      entries: [{ name: 'ip-2', weight: 2 }],
    });
    await expect(running.call('get_listener_domain', ['example.com', '', {}])).rejects.toThrow(
      /listener_domains helper: .*missing\.json/,
    );
  });

  it('a top-level typo stops every use of that helper at run time', async () => {
    const only = writeFiles({ 'extra.json': '{ "tenant_heder": "X-Tenant" }' });
    writeFileSync(
      join(only, 'p.lua'),
      `require('policy-extras.queue'):setup { '${join(only, 'extra.json')}' }`,
    );
    const runtime = await PolicyRuntime.start({
      policy: join(only, 'p.lua'),
      poolSize: 1,
      spare: false,
    });
    try {
      await expect(runtime.call('get_queue_config', ['any.example'])).rejects.toThrow(
        `queue helper: ${join(only, 'extra.json')}: tenant_heder: unknown key`,
      );
    } finally {
      await runtime.close();
    }
  });
});

describe('every data-file helper reports a mistake the same way', () => {
  it('<helper>: <file>: <key path>: <what>, a Lua table named by its place in the list', async () => {
    const p = await dataPolicy(
      `
      require('policy-extras.queue'):setup {
        '{{dir}}/queues.toml',
        { queue = { ['x.example'] = { max_age = '3 fortnights' } } },
      }
      require('policy-extras.dkim_sign'):setup {
        { base = { selector = 's' } },
        { domain = { ['d.example'] = { algo = 'md5', filename = '{{dir}}/d.key' } } },
      }
      require('policy-extras.sources'):setup { { pool = { p = { s1 = 3 } } } }
    `,
      { 'queues.toml': "[queue.'ok.example']\nmax_age = '1 hour'\n", 'd.key': 'unused' },
    );
    await p.run('validate_config');
    const errors = p.logged.filter(([level]) => level === 'error').map(([, text]) => text);
    expect(errors).toEqual([
      "queue helper: <Lua table #2>: queue.'x.example'.max_age: duration: cannot parse '3 fortnights': unknown unit 'fortnights' (e.g. '10s', '5m', '1 hour', '7 days')",
      `dkim_sign helper: <Lua table #2>: domain.'d.example'.algo: expected 'sha256' or 'ed25519', got "md5"`,
      "sources helper: <Lua table #1>: pool.'p'.'s1': expected a table (weight = n), got number",
    ]);
    expect(p.configured.some(([kind]) => kind === 'validation_failed')).toBe(true);
  });
});
