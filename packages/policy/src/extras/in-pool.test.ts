import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type MessageSnapshot, PolicyRuntime } from '@sterna/lua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, luaPolicy, testDns } from '../../test/fixtures/extras/harness.js';

// The helpers as a TypeScript policy uses them: a policy file in a folder of its own (no
// node_modules), run by the pool's JS engine in a worker, `@sterna/policy` found through the
// runtime's import fallback; the same policy in Lua beside it.
const FALLBACK = new URL('../../package.json', import.meta.url).href;
const q = (f: string) => JSON.stringify(f);

const TS_POLICY = `
import { on } from '@sterna/policy';
import { queue, shaping, sources } from '@sterna/policy/extras';

sources.setup([${q(fixture('sources.toml'))}]);
const queues = queue.setup([${q(fixture('queues.toml'))}]);
on('smtp_server_message_received', (msg) => queues.apply(msg));
const shaper = shaping.setupWithAutomation({ extra_files: [${q(fixture('shaping.toml'))}] });
on('get_egress_path_config', shaper.getEgressPathConfig);
`;

const LUA_POLICY = `
require('policy-extras.sources'):setup { ${q(fixture('sources.toml'))} }
local queues = require('policy-extras.queue'):setup { ${q(fixture('queues.toml'))} }
kumo.on('smtp_server_message_received', function(msg) queues:apply(msg) end)
local shaper = require('policy-extras.shaping'):setup_with_automation {
  extra_files = { ${q(fixture('shaping.toml'))} },
}
kumo.on('get_egress_path_config', shaper.get_egress_path_config)
`;

describe('the helpers in a TypeScript policy run by the pool', () => {
  let dns: Awaited<ReturnType<typeof testDns>>;
  let lua: Awaited<ReturnType<typeof luaPolicy>>;
  let ts: PolicyRuntime;
  const configured: [string, unknown][] = [];
  beforeAll(async () => {
    dns = await testDns({
      'yahoo.com': { MX: [{ exchange: 'mta5.am0.yahoodns.net', priority: 1 }] },
      'gmail.com': { MX: [{ exchange: 'gmail-smtp-in.l.google.com', priority: 5 }] },
    });
    lua = await luaPolicy(LUA_POLICY, dns.resolver);
    const dir = mkdtempSync(join(tmpdir(), 'sterna-extras-ts-'));
    writeFileSync(join(dir, 'policy.ts'), TS_POLICY);
    ts = await PolicyRuntime.start({
      policy: join(dir, 'policy.ts'),
      poolSize: 1,
      spare: false,
      importFallback: FALLBACK,
      host: {
        resolver: dns.resolver,
        print: () => {},
        log: () => {},
        configure: (kind, params) => {
          configured.push([kind, params]);
        },
      },
    });
  });
  afterAll(async () => {
    await ts?.close();
    await lua?.close();
    await dns?.close();
  });

  it('answers every event as the Lua policy does', async () => {
    const both = async (event: string, args: unknown[]) => {
      const [a, b] = await Promise.all([ts.call(event, args), lua.runtime.call(event, args)]);
      return { ts: a, lua: b };
    };
    for (const domain of ['yahoo.com', 'gmail.com']) {
      const r = await both('get_egress_path_config', [domain, 'ip-1', 'site']);
      expect(r.ts.value, domain).toEqual(r.lua.value);
      expect(r.ts.value).toHaveProperty('provider_name');
    }
    for (const [event, name] of [
      ['get_egress_source', 'ip-2'],
      ['get_egress_pool', 'pool-1'],
    ] as const) {
      const r = await both(event, [name]);
      expect(r.ts.value, name).toEqual(r.lua.value);
      expect(r.ts.handled).toBe(true);
    }
    const r = await both('get_queue_config', ['gmail.com', 'mktg', 'spring']);
    expect(r.ts.value).toEqual(r.lua.value);

    const message: MessageSnapshot = {
      id: '0'.repeat(32),
      sender: 'sender@example.com',
      recipients: ['rcpt@gmail.com'],
      meta: {},
      data: new TextEncoder().encode(
        'X-Tenant: open\r\nX-Campaign: promo\r\nSubject: x\r\n\r\nbody\r\n',
      ),
    };
    const m = await both('smtp_server_message_received', [message]);
    expect(m.ts.messages[0]?.meta).toEqual({
      tenant: 'open',
      campaign: 'promo',
      routing_domain: '[10.0.0.1]',
    });
    expect(m.ts.messages[0]?.meta).toEqual(m.lua.messages[0]?.meta);
    expect(new TextDecoder().decode(m.ts.messages[0]!.data)).toEqual(
      new TextDecoder().decode(m.lua.messages[0]!.data),
    );

    await ts.call('pre_init');
    const rules = configured.find(([kind]) => kind === 'shaping_automation');
    expect(rules?.[1]).toMatchObject({ rules: [expect.anything(), expect.anything()] });
  });
});
