import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyRuntime } from '../src/index.js';

// The way the policy-extras helpers use kumo.memoize and kumo.toml_load, through the runtime's
// pool of workers: the data file is read once per context, not once per call.
const POLICY = `
loads = 0
local function load_data(files)
  loads = loads + 1
  local merged = {}
  for _, file in ipairs(files) do
    for k, v in pairs(kumo.toml_load(file)) do merged[k] = v end
  end
  return merged
end
local cached = kumo.memoize(load_data, { name = 'data', ttl = '5 minutes', capacity = 10 })
kumo.on('get_egress_source', function(name)
  local data = cached({ DIR .. '/sources.toml' })
  return { source = data.source[name], loads = loads }
end)
`;

describe('kumo.memoize and kumo.toml_load through the worker pool', () => {
  let runtime: PolicyRuntime;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sterna-memoize-pool-'));
    writeFileSync(
      join(dir, 'sources.toml'),
      '[source."ip-1"]\nsource_address = "10.0.0.1"\n\n[source."ip-2"]\nsource_address = "10.0.0.2"\n',
    );
    writeFileSync(join(dir, 'init.lua'), `DIR = ${JSON.stringify(dir)}\n${POLICY}`);
    runtime = await PolicyRuntime.start({
      policy: join(dir, 'init.lua'),
      poolSize: 2,
      spare: false,
    });
  });
  afterAll(async () => {
    await runtime.close();
  });

  it('answers every call from the data file and reads it at most once in each context', async () => {
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        runtime.call('get_egress_source', [i % 2 ? 'ip-1' : 'ip-2']),
      ),
    );
    results.forEach(({ value }, i) => {
      const { source, loads } = value as { source: unknown; loads: number };
      expect(source).toEqual({ source_address: i % 2 ? '10.0.0.1' : '10.0.0.2' });
      // per context: the first call there loaded the file, the others found it cached
      expect(loads).toBe(1);
    });
  });
});
