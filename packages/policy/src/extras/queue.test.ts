import { type MessageSnapshot, newPolicyMessage } from '@sterna/lua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  errorLines,
  fixture,
  luaPolicy,
  outcome,
  tsBridge,
} from '../../test/fixtures/extras/harness.js';
import { on } from '../events.js';
import { queue, sources } from './index.js';

const FILES = [fixture('queues.toml'), fixture('queues-extra.json')];
const SOURCES = [fixture('sources.toml')];
const BAD = [fixture('bad-queues.toml')];
const luaList = (files: string[]) => files.map((f) => `'${f}'`).join(', ');

const luaSource = (files: string[]) => `
  require('policy-extras.sources'):setup { ${luaList(SOURCES)} }
  local queue_helper = require('policy-extras.queue'):setup { ${luaList(files)} }
  kumo.on('smtp_server_message_received', function(msg) queue_helper:apply(msg) end)
`;

/** The TS policy equivalent to {@link luaSource}. */
function tsPolicy(files: string[]) {
  const ts = tsBridge();
  sources.setup(SOURCES);
  const helper = queue.setup(files);
  on('smtp_server_message_received', (msg) => helper.apply(msg));
  return ts;
}

/** A message as the listener hands it to the policy. */
function snapshot(
  headers: Record<string, string>,
  options: { recipient?: string; meta?: Record<string, unknown>; queue?: string } = {},
): MessageSnapshot {
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  const data = `${lines.join('')}Subject: hi\r\n\r\nbody\r\n`;
  return {
    id: '0'.repeat(32),
    sender: 'sender@example.com',
    recipients: [options.recipient ?? 'rcpt@gmail.com'],
    meta: (options.meta ?? {}) as MessageSnapshot['meta'],
    data: new TextEncoder().encode(data),
    ...(options.queue ? { queue: options.queue } : {}),
  };
}

/** What an event did to a message: the new snapshot's meta, text and scheduling, or the rejection. */
interface Applied {
  meta?: unknown;
  data?: string;
  scheduling?: unknown;
  rejected?: { code: number; text: string };
  error?: string;
}

function applied(after: MessageSnapshot | undefined, before: MessageSnapshot): Applied {
  const s = after ?? before;
  return {
    meta: s.meta,
    data: new TextDecoder().decode(s.data),
    scheduling: s.scheduling,
  };
}

function failed(error: unknown): Applied {
  const e = error as { code?: unknown; text?: unknown; message?: string };
  if (typeof e.code === 'number' && typeof e.text === 'string') {
    return { rejected: { code: e.code, text: e.text } };
  }
  return { error: e.message ?? String(error) };
}

const CASES: [string, MessageSnapshot][] = [
  ['no header: the default tenant, the routing domain of gmail.com', snapshot({})],
  [
    'tenant and campaign from headers (removed), authorized',
    snapshot({ 'X-Tenant': ' mktg ', 'X-Campaign': 'spring' }, { meta: { authz_id: 'scott' } }),
  ],
  ['a tenant needing authz, unauthenticated', snapshot({ 'X-Tenant': 'mktg' })],
  [
    'a tenant needing authz, someone else',
    snapshot({ 'X-Tenant': 'mktg' }, { meta: { authz_id: 'eve' } }),
  ],
  ['an unknown tenant', snapshot({ 'X-Tenant': 'nobody-here' })],
  [
    'tenant already in meta: no default; a wildcard domain routes',
    snapshot({}, { recipient: 'a@mx.example.org', meta: { tenant: 'open' } }),
  ],
  [
    'the scheduling header (JSON) becomes the scheduling',
    snapshot({ 'X-Schedule': '{"expires":"2099-01-01T00:00:00Z"}', 'X-Tenant': 'open' }),
  ],
  [
    'an empty tenant header counts as none',
    snapshot({ 'X-Tenant': '   ' }, { recipient: 'b@other.net' }),
  ],
];

describe('queue: the TypeScript helper answers as the Lua helper does', () => {
  let lua: Awaited<ReturnType<typeof luaPolicy>>;
  beforeAll(async () => {
    lua = await luaPolicy(luaSource(FILES));
  });
  afterAll(async () => {
    await lua?.close();
  });

  it('apply(msg): the same meta, headers, scheduling, or the same rejection', async () => {
    const ts = tsPolicy(FILES);
    for (const [label, snap] of CASES) {
      let fromLua: Applied;
      try {
        const result = await lua.runtime.call('smtp_server_message_received', [snap]);
        fromLua = applied(result.messages[0], snap);
      } catch (error) {
        fromLua = failed(error);
      }
      const msg = newPolicyMessage(snap);
      let fromTs: Applied;
      try {
        await ts.call('smtp_server_message_received', msg.message);
        fromTs = applied(msg.snapshot(), snap);
      } catch (error) {
        fromTs = failed(error);
      }
      expect(fromTs, label).toEqual(fromLua);
    }
  });

  it('apply(msg): what each case gives', async () => {
    tsPolicy(FILES);
    const run = (snap: MessageSnapshot) => {
      const msg = newPolicyMessage(snap);
      try {
        queue.setup(FILES).apply(msg.message);
      } catch (error) {
        return failed(error);
      }
      return applied(msg.snapshot(), snap);
    };
    expect(run(CASES[0]![1]).meta).toEqual({
      tenant: 'default-tenant',
      routing_domain: '[10.0.0.1]',
    });
    const authorized = run(CASES[1]![1]);
    expect(authorized.meta).toEqual({
      authz_id: 'scott',
      tenant: 'mktg',
      campaign: 'spring',
      routing_domain: '[10.0.0.1]',
    });
    expect(authorized.data).not.toMatch(/X-Tenant|X-Campaign/);
    expect(run(CASES[2]![1]).rejected).toEqual({
      code: 500,
      text: 'an unauthenticated client is not authorized to use tenant mktg',
    });
    expect(run(CASES[3]![1]).rejected).toEqual({
      code: 500,
      text: "'eve' is not authorized to use tenant mktg",
    });
    expect(run(CASES[4]![1]).rejected).toEqual({
      code: 500,
      text: 'tenant nobody-here is not configured',
    });
    expect(run(CASES[5]![1]).meta).toEqual({ tenant: 'open', routing_domain: 'relay.example.org' });
    expect(run(CASES[6]![1]).scheduling).toBeDefined();
  });

  it('get_queue_config: the same merged config for every (domain, tenant, campaign)', async () => {
    const ts = tsPolicy(FILES);
    const queues: string[][] = [
      ['gmail.com'],
      ['GMAIL.com', 'mktg'],
      ['gmail.com', 'mktg', 'spring'],
      ['gmail.com', '', ''],
      ['mx.example.org', 'open', 'promo'],
      ['other.net', 'open'],
      ['other.net', 'default-tenant'],
      ['default'],
      ['hook.log_hook'],
    ];
    for (const args of queues) {
      const fromLua = await lua.call('get_queue_config', ...args);
      expect(await ts.call('get_queue_config', ...args), args.join(' ')).toEqual(fromLua);
    }
    // Layers merge later-wins: queue.default, the domain, the tenant, domain+tenant (the JSON
    // file's over the TOML's), domain+tenant+campaign.
    expect(await ts.call('get_queue_config', 'gmail.com', 'mktg', 'spring')).toEqual({
      max_age: '12 hours',
      retry_interval: '10 minutes',
      max_message_rate: '100/s',
      egress_pool: 'pool-2',
      max_retry_interval: '2 hours',
    });
    // A queue another helper owns is left to it.
    expect(await ts.call('get_queue_config', 'hook.log_hook')).toBeUndefined();
  });

  it('validate_config: nothing to report for good files (pools checked against sources)', async () => {
    const ts = tsPolicy(FILES);
    lua.logged.length = 0;
    await lua.call('validate_config');
    await ts.call('validate_config');
    expect(ts.logged).toEqual(lua.logged);
    expect(ts.logged).toEqual([]);
  });
});

describe('queue: a mistake is reported naming the file and the key, in the Lua words', () => {
  let lua: Awaited<ReturnType<typeof luaPolicy>>;
  beforeAll(async () => {
    lua = await luaPolicy(luaSource(BAD));
  });
  afterAll(async () => {
    await lua?.close();
  });

  it('validate_config logs the same lines; a call fails with the same text', async () => {
    const ts = tsPolicy(BAD);
    await lua.call('validate_config');
    await ts.call('validate_config');
    expect(errorLines(ts.logged)).toEqual(errorLines(lua.logged));
    expect(errorLines(ts.logged)).toEqual(
      expect.arrayContaining([
        `queue helper: ${BAD[0]}: tenant_heder: unknown key`,
        expect.stringMatching(/queue helper: .*bad-queues\.toml: tenant\.'t1'\.max_age: .*17 minz/),
        expect.stringMatching(
          /queue helper: .*bad-queues\.toml: queue\.'gmail\.com'\.retry_intervall: .*unknown field/,
        ),
        `queue helper: ${BAD[0]}: default_tenant: tenant 'nobody' is not defined (no [tenant.'nobody'])`,
      ]),
    );
    expect(ts.configured.map(([kind]) => kind)).toContain('validation_failed');
    // The top-level typo stops every use of the helper, in both.
    const fromTs = await outcome(() => ts.call('get_queue_config', 'fine.example'));
    const fromLua = await outcome(() => lua.call('get_queue_config', 'fine.example'));
    expect(fromTs.error).toBe(`queue helper: ${BAD[0]}: tenant_heder: unknown key`);
    expect(fromLua.error).toContain(fromTs.error);
  });

  it('a mistake in one entry stops only the queues that use it', async () => {
    const ts = tsBridge();
    const helper = queue.setup([
      {
        queue: { 'gmail.com': { retry_intervall: '5 mins' }, 'ok.example': { max_age: '1 hour' } },
      },
    ]);
    expect(helper.getQueueConfig('ok.example')).toEqual({ max_age: '1 hour' });
    expect(() => helper.getQueueConfig('gmail.com')).toThrow(
      /^queue helper: <object #1>: queue\.'gmail\.com'\.retry_intervall: unknown field/,
    );
    expect(ts.bridge.handlers.has('get_queue_config')).toBe(true);
  });
});

describe('queue: overall_max_message_rate holds messages as the Lua helper does', () => {
  const OVERALL = [fixture('queues-overall.toml')];
  let lua: Awaited<ReturnType<typeof luaPolicy>>;
  beforeAll(async () => {
    lua = await luaPolicy(`require('policy-extras.queue'):setup { ${luaList(OVERALL)} }`);
  });
  afterAll(async () => {
    await lua?.close();
  });

  it('registers throttle_insert_ready_queue only when the data sets a rate; the second message waits', async () => {
    const without = tsBridge();
    queue.setup(FILES);
    expect(without.bridge.handlers.has('get_queue_config')).toBe(true);
    expect(without.bridge.handlers.has('throttle_insert_ready_queue')).toBe(false);

    const ts = tsBridge();
    queue.setup(OVERALL);
    expect(ts.bridge.handlers.has('throttle_insert_ready_queue')).toBe(true);
    expect(lua.runtime.hasEvent('throttle_insert_ready_queue')).toBe(true);
    for (const queueName of ['t1@any.example', 'limited.example']) {
      const due: { lua: (number | null | undefined)[]; ts: (number | null | undefined)[] } = {
        lua: [],
        ts: [],
      };
      for (let i = 0; i < 2; i++) {
        const snap = snapshot({}, { queue: queueName, meta: { tenant: 't1' } });
        const result = await lua.runtime.call('throttle_insert_ready_queue', [snap]);
        due.lua.push(result.messages[0]?.due);
        const msg = newPolicyMessage(snap);
        await ts.call('throttle_insert_ready_queue', msg.message);
        due.ts.push(msg.changed ? msg.snapshot().due : undefined);
      }
      const held = (list: (number | null | undefined)[]) =>
        list.map((d) => typeof d === 'number' && d > Date.now() + 30 * 60_000);
      expect(held(due.ts), queueName).toEqual([false, true]);
      expect(held(due.ts)).toEqual(held(due.lua));
    }
  });
});
