import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyRuntime } from '@sterna/lua';
import { afterEach, describe, expect, it } from 'vitest';
import { LuaPolicy } from '../../src/policy/lua-policy.js';
import { EgressSources } from '../../src/queue/egress-sources.js';

// The policy's get_egress_pool / get_egress_source in the real Lua VM, counting their calls.
let dir: string | undefined;
let runtime: PolicyRuntime | undefined;
afterEach(async () => {
  await runtime?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  runtime = dir = undefined;
});

async function policy(body: string): Promise<LuaPolicy> {
  await runtime?.close();
  dir ??= await mkdtemp(join(tmpdir(), 'sterna-egress-'));
  const file = join(dir, 'policy.lua');
  await writeFile(
    file,
    `local kumo = require 'kumo'\nlocal CALLS = {}\nkumo.on('calls', function(name) return CALLS[name] or 0 end)\n${body}`,
  );
  runtime = await PolicyRuntime.start({ policy: file, poolSize: 1, spare: false });
  return new LuaPolicy(runtime);
}

const calls = async (name: string) => (await runtime!.call('calls', [name])).value;

const POOLS = `
kumo.on('get_egress_pool', function(name)
  CALLS[name] = (CALLS[name] or 0) + 1
  if name == 'p' then
    return kumo.make_egress_pool { name = 'p', entries = { { name = 's1' }, { name = 'unspecified' } }, ttl = '30s' }
  elseif name == 'zero' then
    return kumo.make_egress_pool { name = 'zero', entries = { { name = 's1', weight = 0 } } }
  end
end)
kumo.on('get_egress_source', function(name)
  CALLS[name] = (CALLS[name] or 0) + 1
  return kumo.make_egress_source { name = name, source_address = '10.0.0.1', ehlo_domain = 'mta.example', ttl = '10s' }
end)
`;

describe('egress pools and sources from the policy', () => {
  it('asks each pool and source once per ttl, and never for unspecified', async () => {
    let now = 1_000_000;
    const egress = new EgressSources(await policy(POOLS), () => now);
    expect(await egress.choose('q', undefined)).toEqual({
      pool: 'unspecified',
      source: { name: 'unspecified' },
    });
    const picked = [await egress.choose('q', 'p'), await egress.choose('q', 'p')];
    // Equal weights alternate; the entry named unspecified is the default source, not asked for.
    expect(picked.map((c) => c.source?.name).sort()).toEqual(['s1', 'unspecified']);
    expect(picked.find((c) => c.source?.name === 's1')).toEqual({
      pool: 'p',
      source: { name: 's1', source_address: '10.0.0.1', ehlo_domain: 'mta.example' },
    });
    expect([await calls('p'), await calls('s1'), await calls('unspecified')]).toEqual([1, 1, 0]);

    now += 11_000; // past the source's ttl (10 s), within the pool's (30 s)
    await egress.choose('q', 'p');
    await egress.choose('q', 'p');
    expect([await calls('p'), await calls('s1')]).toEqual([1, 2]);
    now += 20_000; // past the pool's ttl
    await egress.choose('q', 'p');
    expect(await calls('p')).toBe(2);
  });

  it('names the pool or source the policy cannot describe', async () => {
    const egress = new EgressSources(await policy(POOLS), Date.now);
    await expect(egress.choose('q', 'nil-pool')).rejects.toThrow(
      "egress pool 'nil-pool': get_egress_pool returned nil",
    );
    await expect(egress.choose('q', 'zero')).rejects.toThrow(
      "egress pool 'zero' has no source with a weight above zero",
    );
    // Failures are not kept: the next message asks again.
    await expect(egress.choose('q', 'nil-pool')).rejects.toThrow();
    expect(await calls('nil-pool')).toBe(2);

    const bare = new EgressSources(await policy(''), Date.now);
    await expect(bare.choose('q', 'p')).rejects.toThrow(
      "egress pool 'p': the policy defines no get_egress_pool handler",
    );
    expect(await bare.choose('q', 'unspecified')).toMatchObject({ pool: 'unspecified' });
  });

  it('refuses a source table with an unknown key, naming the source and the key', async () => {
    const egress = new EgressSources(
      await policy(`
kumo.on('get_egress_pool', function(name)
  return kumo.make_egress_pool { name = name, entries = { { name = 'typo' } } }
end)
kumo.on('get_egress_source', function(name)
  return { name = name, source_adress = '10.0.0.1' }
end)
`),
      Date.now,
    );
    await expect(egress.choose('q', 'p')).rejects.toThrow(
      /^egress source 'typo' of pool 'p': .*source_adress/,
    );
  });
});
