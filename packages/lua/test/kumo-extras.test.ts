import { beforeAll, describe, expect, it } from 'vitest';
import { inlinePolicy } from './inline-policy.js';

const POLICY = `
kumo.on('docs_example', function()
  local dmap = kumo.domain_map.new {
    ['*.woot.com'] = 123,
    ['example.com'] = 24,
  }
  dmap['*.example.com'] = 42
  return {
    dmap['lemon.example.com'], dmap['example.com'], dmap['woot.com'] == nil, dmap['aa.woot.com'],
  }
end)

kumo.on('precedence', function(name)
  local dmap = kumo.domain_map.new()
  dmap['*.example.com'] = 'wildcard'
  dmap['*.eu.example.com'] = 'closer wildcard'
  dmap['explicit.example.com'] = 'explicit'
  dmap['*.explicit.example.com'] = 'below explicit'
  return dmap[name]
end)

kumo.on('assign_nil', function()
  local dmap = kumo.domain_map.new { ['a.com'] = 1, ['*.a.com'] = 2 }
  dmap['a.com'] = nil
  dmap['*.a.com'] = nil
  return { dmap['a.com'] == nil, dmap['x.a.com'] == nil, tostring(dmap) }
end)

kumo.on('table_values', function()
  local dmap = kumo.domain_map.new { ['*.example.com'] = { pool = 'p1', weight = 2 } }
  return dmap['mx.example.com']
end)

kumo.on('require_map', function() return require('kumo.domain_map') == kumo.domain_map end)
kumo.on('bad_key', function() local m = kumo.domain_map.new(); m[42] = true end)
kumo.on('bad_init', function() kumo.domain_map.new('example.com') end)

local function where_am_i()
  local frames = kumo.traceback(1) -- where_am_i calls
  return frames
end -- where_am_i ends
kumo.on('traceback', function()
  local frames = where_am_i() -- the handler calls
  return { frames[1], frames[2] }
end)
kumo.on('traceback_default', function()
  local line = kumo.traceback()[1].curr_line -- default level
  return line
end)
kumo.on('traceback_bad', function() return kumo.traceback('top') end)

kumo.on('tuning', function()
  kumo.set_spoolin_threads(4)
  kumo.set_logging_threads(2)
  kumo.set_httpinject_threads(2)
  kumo.set_qmaint_threads(2)
  kumo.set_ready_qmaint_threads(2)
  kumo.set_readyq_threads(2)
  kumo.set_smtpsrv_threads(8)
  kumo.set_max_lua_context_use_count(1024)
  kumo.set_max_lua_context_age(300)
  kumo.set_max_spare_lua_contexts(8)
  kumo.set_lua_gc_on_put(1)
  kumo.set_memory_hard_limit(2 * 1024 * 1024 * 1024)
  kumo.set_memory_soft_limit(1024 * 1024 * 1024)
  kumo.set_memory_low_thresh(800 * 1024 * 1024)
  kumo.dkim.set_signing_threads(4)
  kumo.dns.set_mx_timeout '5s'
  kumo.dns.set_mx_negative_cache_ttl(300)
  kumo.dns.set_mx_concurrency_limit(128)
  kumo.set_lruttl_cache_capacity('dns_resolver_mx', 128000)
  return 'accepted'
end)
kumo.on('tuning_bad', function(fn, arg)
  local f = fn:find('^dkim%.') and kumo.dkim[fn:sub(6)] or fn:find('^dns%.') and kumo.dns[fn:sub(5)] or kumo[fn]
  f(arg)
end)
`;

describe('kumo.domain_map', () => {
  let policy: Awaited<ReturnType<typeof inlinePolicy>>;
  beforeAll(async () => {
    policy = await inlinePolicy(POLICY);
  });

  it("behaves as KumoMTA's documentation shows", async () => {
    expect(await policy.call('docs_example')).toEqual([42, 24, true, 123]);
  });

  it('an exact key wins, then the closest wildcard; a wildcard does not match its own domain', async () => {
    expect(await policy.call('precedence', 'explicit.example.com')).toBe('explicit');
    expect(await policy.call('precedence', 'a.explicit.example.com')).toBe('below explicit');
    expect(await policy.call('precedence', 'mx.eu.example.com')).toBe('closer wildcard');
    expect(await policy.call('precedence', 'a.b.eu.example.com')).toBe('closer wildcard');
    expect(await policy.call('precedence', 'eu.example.com')).toBe('wildcard');
    expect(await policy.call('precedence', 'other.example.com')).toBe('wildcard');
    expect(await policy.call('precedence', 'example.com')).toBeUndefined();
    expect(await policy.call('precedence', 'example.org')).toBeUndefined();
    expect(await policy.call('precedence', 'MX.EU.Example.COM')).toBe('closer wildcard');
  });

  it('assigning nil removes a key; values may be tables; require finds the module', async () => {
    expect(await policy.call('assign_nil')).toEqual([true, true, 'DomainMap(0 entries)']);
    expect(await policy.call('table_values')).toEqual({ pool: 'p1', weight: 2 });
    expect(await policy.call('require_map')).toBe(true);
  });

  it('refuses a key that is not a domain name', async () => {
    expect(await policy.fail('bad_key')).toContain(
      'kumo.domain_map: key: expected a domain name (a string), got number',
    );
    expect(await policy.fail('bad_init')).toContain('kumo.domain_map.new: expected a table');
  });
});

/** The line of POLICY (as Lua counts them) holding `marker`. */
const lineOf = (marker: string) => POLICY.split('\n').findIndex((l) => l.includes(marker)) + 1;

describe('kumo.traceback', () => {
  let policy: Awaited<ReturnType<typeof inlinePolicy>>;
  beforeAll(async () => {
    policy = await inlinePolicy(POLICY);
  });

  it('gives the stack as frame tables, from the caller of kumo.traceback up', async () => {
    const [first, second] = (await policy.call('traceback')) as Record<string, unknown>[];
    expect(first).toMatchObject({
      name: 'where_am_i',
      name_what: 'upvalue',
      what: 'Lua',
      short_src: expect.stringMatching(/policy\.lua$/),
      source: expect.stringMatching(/^@.*policy\.lua$/),
      curr_line: lineOf('-- where_am_i calls'),
      line_defined: lineOf('local function where_am_i()'),
      last_line_defined: lineOf('-- where_am_i ends'),
      is_tail_call: false,
    });
    expect(second).toMatchObject({ what: 'Lua', curr_line: lineOf('-- the handler calls') });
    expect(await policy.call('traceback_default')).toBe(lineOf('-- default level'));
  });

  it('refuses a level that is not a whole number', async () => {
    expect(await policy.fail('traceback_bad')).toContain(
      'kumo.traceback: level: expected a whole number of at least 0, got top',
    );
  });
});

describe('tuning calls', () => {
  it('accept the arguments KumoMTA documents; only the MX tuning reaches the daemon', async () => {
    const policy = await inlinePolicy(POLICY);
    expect(await policy.call('tuning')).toBe('accepted');
    expect(policy.configured).toEqual([
      ['mx_resolver', { timeout: 5 }],
      ['mx_resolver', { negative_cache_ttl: 300 }],
      ['mx_resolver', { concurrency_limit: 128 }],
    ]);
  });

  it('still fail loudly on a wrong argument', async () => {
    const policy = await inlinePolicy(POLICY);
    expect(await policy.fail('tuning_bad', 'set_smtpsrv_threads', 'many')).toContain(
      'kumo.set_smtpsrv_threads: expected a whole number of at least 1, got many',
    );
    expect(await policy.fail('tuning_bad', 'set_spoolin_threads', 0)).toContain(
      'kumo.set_spoolin_threads: expected a whole number of at least 1, got 0',
    );
    expect(await policy.fail('tuning_bad', 'set_memory_hard_limit', '2GB')).toContain(
      'kumo.set_memory_hard_limit: expected a whole number',
    );
    expect(await policy.fail('tuning_bad', 'set_lua_gc_on_put', 256)).toContain(
      'kumo.set_lua_gc_on_put: expected a whole number from 0 to 255',
    );
    expect(await policy.fail('tuning_bad', 'dkim.set_signing_threads', 1.5)).toContain(
      'kumo.dkim.set_signing_threads: expected a whole number',
    );
    expect(await policy.fail('tuning_bad', 'dns.set_mx_timeout', '5 fortnights')).toContain(
      "kumo.dns.set_mx_timeout: cannot parse '5 fortnights'",
    );
    expect(await policy.fail('tuning_bad', 'set_lruttl_cache_capacity', 10)).toContain(
      'kumo.set_lruttl_cache_capacity: name: expected a string',
    );
  });
});
