import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyRuntime } from '../../src/index.js';

describe('helper data is read once and read again after a configuration epoch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sterna-extras-cache-'));
  const queues = join(dir, 'queues.toml');
  const domains = join(dir, 'listener_domains.toml');
  const sources = join(dir, 'sources.toml');
  let runtime: PolicyRuntime;
  beforeAll(async () => {
    writeFileSync(queues, "[queue.'a.example']\nmax_age = '1 hour'\n");
    writeFileSync(domains, "['a.example']\nrelay_to = true\n");
    writeFileSync(sources, "[source.'s1']\nsource_address = '127.0.0.2'\n[pool.'p'.'s1']\n");
    writeFileSync(
      join(dir, 'policy.lua'),
      `local kumo = require 'kumo'
require('policy-extras.queue'):setup { '${queues}' }
require('policy-extras.sources'):setup { '${sources}' }
kumo.on('get_listener_domain', require('policy-extras.listener_domains'):setup { '${domains}' })
kumo.on('bump', function() kumo.bump_config_epoch() end)
`,
    );
    runtime = await PolicyRuntime.start({
      policy: join(dir, 'policy.lua'),
      poolSize: 1,
      spare: false,
      host: { configure: () => {}, log: () => {}, print: () => {} },
    });
  });
  afterAll(() => runtime.close());

  it('a changed file is not read again until the epoch changes', async () => {
    const state = async () => ({
      queue: (await runtime.call('get_queue_config', ['a.example'])).value,
      domain: (await runtime.call('get_listener_domain', ['a.example', '', {}])).value,
      source: (await runtime.call('get_egress_source', ['s1'])).value,
    });
    const before = {
      queue: { max_age: '1 hour' },
      domain: { relay_to: true },
      source: { name: 's1', source_address: '127.0.0.2' },
    };
    expect(await state()).toEqual(before);

    writeFileSync(queues, "[queue.'a.example']\nmax_age = '2 hours'\n");
    writeFileSync(domains, "['a.example']\nlog_oob = true\n");
    writeFileSync(sources, "[source.'s1']\nsource_address = '127.0.0.3'\n[pool.'p'.'s1']\n");
    expect(await state()).toEqual(before);

    await runtime.call('bump');
    expect(await state()).toEqual({
      queue: { max_age: '2 hours' },
      domain: { log_oob: true },
      source: { name: 's1', source_address: '127.0.0.3' },
    });
  });
});
