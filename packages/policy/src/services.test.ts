import type { ThrottleSpec } from '@sterna/core/engine';
import { policyBridge } from '@sterna/lua';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyBounce, dns, log, makeThrottle, redis, spawnTask } from './services.js';
import { messageSnapshot, testMessage, testPolicy } from './testing/index.js';

afterEach(() => {
  policyBridge().host = undefined;
});

describe('dns', () => {
  it('asks the daemon and gets KumoMTA tables back', async () => {
    await testPolicy(undefined, {
      dns: {
        mx: {
          'example.com': ['MX1.example.com', 'mx2.example.com'],
          'example.net': [
            { exchange: 'b.example.net', priority: 10 },
            { exchange: 'a.example.net', priority: 10 },
          ],
        },
        a: { 'mx1.example.com': ['192.0.2.1', '2001:db8::1'] },
        txt: { 'example.com': ['v=spf1 -all'] },
        ptr: { '192.0.2.1': ['mx1.example.com.'] },
      },
    });
    expect(await dns.lookupMx('example.com')).toEqual({
      domain_name: 'example.com.',
      site_name: 'mx1.example.com,mx2.example.com',
      hosts: ['mx1.example.com', 'mx2.example.com'],
      by_pref: { '0': ['mx1.example.com'], '10': ['mx2.example.com'] },
      is_mx: true,
      is_secure: false,
      is_domain_literal: false,
    });
    expect((await dns.lookupMx('example.net')).site_name).toBe('a.example.net,b.example.net');
    expect(await dns.lookupAddr('mx1.example.com')).toEqual(['192.0.2.1', '2001:db8::1']);
    expect(await dns.lookupTxt('example.com')).toEqual(['v=spf1 -all']);
    expect(await dns.lookupPtr('192.0.2.1')).toEqual(['mx1.example.com.']);
  });

  it('names the look-up that failed, and the missing daemon', async () => {
    await testPolicy(undefined, { dns: {} });
    await expect(dns.lookupMx('nowhere.test')).rejects.toThrow(
      'dns.lookupMx nowhere.test: testPolicy: no mx record for nowhere.test in options.dns.mx',
    );
    policyBridge().host = undefined;
    await expect(dns.lookupAddr('example.com')).rejects.toThrow(
      /^dns\.lookupAddr example\.com: no daemon to ask/,
    );
  });

  it('uses the call names and arguments of the daemon host calls', async () => {
    const asked: [string, unknown[]][] = [];
    const record =
      (name: string, answer: unknown) =>
      (...args: unknown[]) => {
        asked.push([name, args]);
        return answer as never;
      };
    await testPolicy(undefined, {
      calls: {
        dns_lookup_mx: record('dns_lookup_mx', { hosts: [] }),
        dns_lookup_addr: record('dns_lookup_addr', []),
        dns_lookup_txt: record('dns_lookup_txt', []),
        dns_lookup_ptr: record('dns_lookup_ptr', []),
        spawn_task: record('spawn_task', undefined),
        classify_bounce: record('classify_bounce', 'InvalidRecipient'),
        log: record('log', undefined),
      },
    });
    await dns.lookupMx('a.test');
    await dns.lookupAddr('b.test');
    await dns.lookupTxt('c.test');
    await dns.lookupPtr('192.0.2.9');
    await spawnTask('refresh', { what: 'data' });
    expect(await classifyBounce('550 5.1.1 no such user')).toBe('InvalidRecipient');
    await classifyBounce({ code: 550, content: 'no such user' });
    log.warn('disk', 90, 'percent');
    expect(asked).toEqual([
      ['dns_lookup_mx', ['a.test']],
      ['dns_lookup_addr', ['b.test']],
      ['dns_lookup_txt', ['c.test']],
      ['dns_lookup_ptr', ['192.0.2.9']],
      ['spawn_task', ['refresh', { what: 'data' }]],
      ['classify_bounce', ['550 5.1.1 no such user']],
      ['classify_bounce', [{ code: 550, content: 'no such user' }]],
      ['log', ['warn', 'disk 90 percent']],
    ]);
  });
});

describe('log, tasks and bounces under testPolicy', () => {
  it('records logs and tasks; classifies as Uncategorized', async () => {
    const policy = await testPolicy();
    log.error('a');
    log.info('b', { x: 1 });
    log.debug();
    await spawnTask('ev', [1, 2]);
    expect(policy.logs).toEqual([
      { level: 'error', text: 'a' },
      { level: 'info', text: 'b [object Object]' },
      { level: 'debug', text: '' },
    ]);
    expect(policy.tasks).toEqual([{ event: 'ev', args: [1, 2] }]);
    expect(await classifyBounce('421 4.7.0 try later')).toBe('Uncategorized');
    policy.reset();
    expect(policy.logs).toEqual([]);
    expect(policy.tasks).toEqual([]);
  });

  it('refuses what is not an event or a response, and logs with no daemon', async () => {
    await testPolicy();
    await expect(spawnTask('')).rejects.toThrow(
      'spawnTask: the event must be the name of an event',
    );
    await expect(classifyBounce(5 as never)).rejects.toThrow(/^classifyBounce: expected/);
    policyBridge().host = undefined;
    expect(() => log.info('x')).toThrow(/^log\.info: no daemon to ask/);
  });
});

describe('makeThrottle', () => {
  it("asks the daemon's throttle_check with the bare name and the parsed spec", async () => {
    const checks: [string, ThrottleSpec][] = [];
    await testPolicy(undefined, {
      calls: {
        throttle_check: (name, spec) => {
          checks.push([name, spec]);
          return {
            throttled: false,
            limit: 10,
            remaining: 9,
            resetAfter: 6,
            retryAfter: undefined,
          };
        },
      },
    });
    const throttle = makeThrottle('per-tenant', 'local:10/min,max_burst=2');
    expect(String(throttle)).toBe('Throttle(per-tenant, local:10/min,max_burst=2)');
    expect(await throttle.throttle()).toEqual({
      throttled: false,
      limit: 10,
      remaining: 9,
      resetAfter: 6,
      retryAfter: undefined,
    });
    // The daemon adds KumoMTA's `lua-user-throttle-` prefix itself.
    expect(checks).toEqual([
      ['per-tenant', expect.objectContaining({ limit: 10, period: 60, maxBurst: 2, local: true })],
    ]);
  });

  it('refuses a bad spec when it is made', () => {
    expect(() => makeThrottle('t', 'lots')).toThrow(/^makeThrottle: invalid throttle 'lots'/);
    expect(() => makeThrottle('t', 5 as never)).toThrow(/^makeThrottle: the spec must be a string/);
  });

  it('throttles, waits and delays messages as throttle.lua does (GCRA of the testing host)', async () => {
    let now = 1_000_000;
    await testPolicy(undefined, { now: () => now });
    const throttle = makeThrottle('t', '2/min');
    expect((await throttle.throttle()).throttled).toBe(false);
    expect((await throttle.throttle()).throttled).toBe(false);
    const third = await throttle.throttle();
    expect(third).toMatchObject({ throttled: true, limit: 2, remaining: 0 });
    expect(third.retryAfter).toBeGreaterThan(0);

    // Throttled: the message is made due retryAfter from now.
    const msg = testMessage({ sender: 'a@example.org', recipients: 'b@example.com' });
    expect(await throttle.delayMessageIfThrottled(msg)).toBe(true);
    const { due, changed } = messageSnapshot(msg);
    expect(changed).toBe(true);
    expect(due).toBeGreaterThan(Date.now());

    // Allowed again once the throttle's clock moved on: nothing changes.
    now += 60_000;
    const other = testMessage({ sender: 'a@example.org', recipients: 'b@example.com' });
    expect(await throttle.delayMessageIfThrottled(other)).toBe(false);
    expect(messageSnapshot(other).changed).toBe(false);
    await expect(throttle.delayMessageIfThrottled('msg' as never)).rejects.toThrow(
      "throttle 't': delayMessageIfThrottled expects a message",
    );
  });

  it('sleepIfThrottled: false when allowed, true after waiting (a 1 ms period)', async () => {
    // The throttle's clock: still for the first two checks, a second later for the third.
    let checks = 0;
    await testPolicy(undefined, { now: () => 1_000_000 + (checks++ >= 2 ? 1000 : 0) });
    const throttle = makeThrottle('fast', '1000/s,max_burst=1');
    expect(await throttle.sleepIfThrottled()).toBe(false);
    expect(await throttle.sleepIfThrottled()).toBe(true);
    expect(checks).toBe(3);
  });

  it('fails clearly with no daemon', async () => {
    policyBridge().host = undefined;
    await expect(makeThrottle('t', '1/s').throttle()).rejects.toThrow(
      /^throttle 't': no daemon to ask/,
    );
  });
});

describe('redis', () => {
  it('opens with the parsed parameters and queries by connection number', async () => {
    const asked: unknown[][] = [];
    await testPolicy(undefined, {
      calls: {
        redis_open: (params) => {
          asked.push(['redis_open', params]);
          return 7;
        },
        redis_query: (conn, command, args) => {
          asked.push(['redis_query', conn, command, args]);
          return 'PONG';
        },
      },
    });
    const conn = await redis.open({ node: 'redis://127.0.0.1:6379/', connect_timeout: '5s' });
    expect(await conn.query('PING')).toBe('PONG');
    await conn.query('SET', 'k', 1);
    await expect(conn.query('SET', 'k', {} as never)).rejects.toThrow(
      'redis query SET: argument 2 must be a string or a number',
    );
    expect(asked).toEqual([
      [
        'redis_open',
        expect.objectContaining({
          node: 'redis://127.0.0.1:6379/',
          pool_size: 10,
          connect_timeout: 5,
        }),
      ],
      ['redis_query', 7, 'PING', []],
      ['redis_query', 7, 'SET', ['k', 1]],
    ]);
  });

  it('names redis.open for a bad table, and a missing answer', async () => {
    await testPolicy();
    // @ts-expect-error misspelled
    await expect(redis.open({ nodes: 'redis://x' })).rejects.toThrow(/^redis\.open: /);
    await expect(redis.open({ node: 'redis://x' })).rejects.toThrow(
      'redis.open: testPolicy: no answer for redis_open: give one in options.calls.redis_open',
    );
  });
});
