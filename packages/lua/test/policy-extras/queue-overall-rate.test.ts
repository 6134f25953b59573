import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalThrottles, type ThrottleSpec } from '@sterna/core/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MessageSnapshot, PolicyRuntime } from '../../src/index.js';

// The queue helper's overall_max_message_rate, from real Lua through the runtime: the helper's
// throttle_insert_ready_queue handler checks one named throttle per scope the message's queue is
// in. The throttle store's clock stands still, so only the count decides (no timing).

/** A message of `tenant` (and `campaign`) to `recipient`, as the queue hands it to the event. */
function message(recipient: string, tenant?: string, campaign?: string): MessageSnapshot {
  const meta: Record<string, string> = {};
  if (tenant !== undefined) meta.tenant = tenant;
  if (campaign !== undefined) meta.campaign = campaign;
  return {
    id: '0'.repeat(32),
    sender: 'sender@example.org',
    recipients: [recipient],
    meta,
    data: new TextEncoder().encode('Subject: x\r\n\r\nbody\r\n'),
  };
}

/** A policy with the queue helper on `queues.toml` (written from `data`), started in a runtime. */
async function start(data: string, extra = '') {
  const dir = mkdtempSync(join(tmpdir(), 'sterna-overall-'));
  const queues = join(dir, 'queues.toml');
  writeFileSync(queues, data);
  writeFileSync(
    join(dir, 'policy.lua'),
    `local kumo = require 'kumo'
local queue_helper = require('policy-extras.queue'):setup { '${queues}' }
kumo.on('bump', function() kumo.bump_config_epoch() end)
${extra}
`,
  );
  const throttles = new LocalThrottles(() => 0);
  const checked: string[] = [];
  const logged: string[] = [];
  const configured: string[] = [];
  const runtime = await PolicyRuntime.start({
    policy: join(dir, 'policy.lua'),
    poolSize: 1,
    spare: false,
    host: {
      throttles: {
        check: (key: string, spec: ThrottleSpec, quantity?: number) => {
          checked.push(key);
          return throttles.check(key, spec, quantity);
        },
      },
      log: (_level, line) => logged.push(line),
      print: () => {},
      configure: (kind) => {
        configured.push(kind);
      },
    },
  });
  /** Fires the event for a message; its due time (epoch ms) when it was held, else undefined. */
  const due = async (msg: MessageSnapshot) => {
    const result = await runtime.call('throttle_insert_ready_queue', [msg]);
    const after = result.messages[0];
    return typeof after?.due === 'number' ? after.due : undefined;
  };
  return { runtime, queues, checked, logged, configured, due, result: runtime.call.bind(runtime) };
}

const KEY = (name: string) => `lua-user-throttle-queue-helper-overall-${name}`;

describe('queue helper: overall_max_message_rate', () => {
  describe('a tenant', () => {
    let p: Awaited<ReturnType<typeof start>>;
    beforeAll(async () => {
      p = await start(
        `tenant_header = 'X-Tenant'
[tenant.'t1']
overall_max_message_rate = '5/s,max_burst=1'
[tenant.'t2']
max_age = '1 hour'
`,
        `kumo.on('throttle_insert_ready_queue', function(msg) msg:set_meta('after_helper', 'ran') end)`,
      );
    });
    afterAll(() => p.runtime.close());

    it("a second message of the tenant within the rate is due later, whatever its domain; another tenant's is not", async () => {
      expect(await p.due(message('u1@a.example', 't1'))).toBeUndefined();
      const before = Date.now();
      // Another destination, another scheduled queue: the same tenant throttle.
      const held = await p.due(message('u2@b.example', 't1'));
      expect(held).toBeGreaterThanOrEqual(before + 200);
      expect(held).toBeLessThanOrEqual(Date.now() + 200);
      // t2 sets no rate and no other scope applies: it moves on.
      expect(await p.due(message('u3@b.example', 't2'))).toBeUndefined();
      expect(await p.due(message('u4@a.example'))).toBeUndefined();
      expect(p.checked).toEqual([KEY('tenant-t1'), KEY('tenant-t1')]);
    });

    it('returns nothing, so a handler the policy registers after the helper still runs', async () => {
      const result = await p.result('throttle_insert_ready_queue', [message('u5@a.example', 't1')]);
      expect(result.value).toBeUndefined();
      expect(result.messages[0]?.due).toBeGreaterThan(Date.now());
      expect(result.messages[0]?.meta.after_helper).toBe('ran');
    });

    it("the value stays in the queue's make_queue_config table, as KumoMTA's helper leaves it", async () => {
      const config = await p.result('get_queue_config', ['a.example', 't1', undefined, undefined]);
      expect(config.value).toEqual({ overall_max_message_rate: '5/s,max_burst=1' });
    });
  });

  it('campaign of a tenant, domain, tenant at a domain, campaign at a domain: one throttle each', async () => {
    const p = await start(`
[tenant.'t1']
[tenant.'t1'.campaigns.'spring']
overall_max_message_rate = '1/h'
[tenant.'t2']

[queue.'gmail.com']
overall_max_message_rate = '100/h'
[queue.'gmail.com'.'t1']
overall_max_message_rate = '50/h'
[queue.'gmail.com'.'t1'.'spring']
overall_max_message_rate = '10/h'
[queue.'*.wild.example']
overall_max_message_rate = '1/h'
`);
    try {
      expect(await p.due(message('a@gmail.com', 't1', 'spring'))).toBeUndefined();
      expect(p.checked).toEqual([
        KEY('campaign-spring:t1'),
        KEY('domain-gmail.com'),
        KEY('domain-tenant-t1@gmail.com'),
        KEY('domain-campaign-spring:t1@gmail.com'),
      ]);
      // The campaign's 1/h is spent: held there, and the domain scopes after it are not counted.
      p.checked.length = 0;
      expect(await p.due(message('b@other.example', 't1', 'spring'))).toBeGreaterThan(Date.now());
      expect(await p.due(message('c@gmail.com', 't1', 'spring'))).toBeGreaterThan(Date.now());
      expect(p.checked).toEqual([KEY('campaign-spring:t1'), KEY('campaign-spring:t1')]);
      // Another campaign of the tenant, another tenant: only the domain's scopes.
      p.checked.length = 0;
      expect(await p.due(message('d@gmail.com', 't1', 'autumn'))).toBeUndefined();
      expect(await p.due(message('e@gmail.com', 't2'))).toBeUndefined();
      expect(p.checked).toEqual([
        KEY('domain-gmail.com'),
        KEY('domain-tenant-t1@gmail.com'),
        KEY('domain-gmail.com'),
      ]);
      // A wildcard entry is one scope for every name it matches.
      p.checked.length = 0;
      expect(await p.due(message('f@x.wild.example', 't2'))).toBeUndefined();
      expect(await p.due(message('g@y.wild.example', 't2'))).toBeGreaterThan(Date.now());
      expect(p.checked).toEqual([KEY('domain-*.wild.example'), KEY('domain-*.wild.example')]);
    } finally {
      await p.runtime.close();
    }
  });

  it('registers no throttle_insert_ready_queue handler when the data sets no overall rate', async () => {
    const p = await start(`[tenant.'t1']\nmax_message_rate = '5/s'\n`);
    try {
      expect(p.runtime.hasEvent('throttle_insert_ready_queue')).toBe(false);
      expect(p.runtime.hasEvent('get_queue_config')).toBe(true);
      // The daemon loads the policy again at a configuration epoch: setup decides again.
      writeFileSync(p.queues, `[tenant.'t1']\noverall_max_message_rate = '1/h'\n`);
      await p.runtime.reload();
      expect(p.runtime.hasEvent('throttle_insert_ready_queue')).toBe(true);
      expect(await p.due(message('a@a.example', 't1'))).toBeUndefined();
      expect(await p.due(message('b@a.example', 't1'))).toBeGreaterThan(Date.now());
    } finally {
      await p.runtime.close();
    }
  });

  it('reads the data through the helper cache: a changed file applies after a configuration epoch', async () => {
    const p = await start(`[tenant.'t1']\noverall_max_message_rate = '1/h'\n[tenant.'t2']\n`);
    try {
      expect(await p.due(message('a@a.example', 't1'))).toBeUndefined();
      expect(await p.due(message('b@a.example', 't1'))).toBeGreaterThan(Date.now());
      writeFileSync(p.queues, `[tenant.'t1']\n[tenant.'t2']\noverall_max_message_rate = '1/h'\n`);
      // Until the epoch changes, the data read before holds.
      expect(await p.due(message('c@a.example', 't1'))).toBeGreaterThan(Date.now());
      await p.result('bump');
      expect(await p.due(message('d@a.example', 't1'))).toBeUndefined();
      expect(await p.due(message('e@a.example', 't2'))).toBeUndefined();
      expect(await p.due(message('f@a.example', 't2'))).toBeGreaterThan(Date.now());
    } finally {
      await p.runtime.close();
    }
  });

  it("reports a bad value, a campaign's other keys and queue.default's rate in the helper's words", async () => {
    const p = await start(`
[tenant.'t1']
overall_max_message_rate = '5/fortnight'
[tenant.'t2'.campaigns.'c']
overall_max_message_rate = '1/h'
max_age = '1 hour'
[queue.default]
overall_max_message_rate = '10/s'
`);
    try {
      await p.result('validate_config');
      expect(p.configured).toContain('validation_failed');
      const lines = p.logged.join('\n');
      expect(lines).toMatch(
        /queue helper: .*queues\.toml: tenant\.'t1'\.overall_max_message_rate: .*5\/fortnight/,
      );
      expect(lines).toContain(
        "queues.toml: tenant.'t2'.campaigns.'c'.max_age: unknown key (a tenant's campaigns take only overall_max_message_rate; queue config for a campaign goes in queue.default.'t'.'c' or queue.'<domain>'.'t'.'c')",
      );
      expect(lines).toContain(
        "queues.toml: queue.'default'.overall_max_message_rate: not read under queue.default, whose entries are defaults for each queue: a combined rate needs a scope (tenant.'t', tenant.'t'.campaigns.'c' or queue.'<domain>')",
      );
      // At run time a message the bad entry applies to raises with the same words.
      await expect(p.due(message('a@a.example', 't1'))).rejects.toThrow(
        /queue helper: .*queues\.toml: tenant\.'t1'\.overall_max_message_rate: /,
      );
      await expect(p.due(message('a@a.example', 't2', 'c'))).rejects.toThrow(
        /tenant\.'t2'\.campaigns\.'c'\.max_age: unknown key/,
      );
      // queue.default names no scope: no throttle is checked for it.
      expect(await p.due(message('a@a.example', 't2', 'other'))).toBeUndefined();
      expect(p.checked).toEqual([]);
    } finally {
      await p.runtime.close();
    }
  });
});
