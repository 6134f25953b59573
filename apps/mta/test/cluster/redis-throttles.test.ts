import { gcra, type Lease, parseThrottleSpec } from '@sterna/core/engine';
import { redisParamsSchema } from '@sterna/lua';
import { type RedisService, startRedis } from '@sterna/protocol-testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openRedis, type RedisClient } from '../../src/cluster/redis-connect.js';
import { RedisConnectionLimits } from '../../src/cluster/redis-limits.js';
import { RedisThrottles, SharedStoreError } from '../../src/cluster/redis-throttles.js';
import { eventually } from '../support/mail.js';

// Real redis-server on loopback; every client is a real ioredis connection, as a node has.
describe('shared throttles and connection limits in redis', { timeout: 60_000 }, () => {
  let redis: RedisService;
  const clients: RedisClient[] = [];
  const limiters: RedisConnectionLimits[] = [];
  let prefix = 0;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    for (const limiter of limiters.splice(0)) await limiter.close();
    for (const client of clients.splice(0)) client.disconnect();
  });
  afterAll(async () => {
    await redis?.close();
  });

  const client = () => {
    const c = openRedis(redisParamsSchema.parse({ node: redis.url }), { failFast: true });
    clients.push(c);
    return c;
  };
  // Each test its own key space, so no test sees another's state.
  const keys = () => `test${++prefix}:`;
  const throttles = (c: RedisClient, p: string) =>
    new RedisThrottles(c, { where: redis.url, prefix: `${p}throttle:` });
  const limits = (c: RedisClient, p: string, leaseMs = 60_000) => {
    const l = new RedisConnectionLimits(c, { where: redis.url, leaseMs, prefix: p });
    limiters.push(l);
    return l;
  };

  it('decides every check as the local gcra does from the same clock and stored time', async () => {
    const store = throttles(client(), keys());
    const cases = [
      { spec: parseThrottleSpec('10/s,max_burst=3'), quantity: 1, checks: 25 },
      { spec: parseThrottleSpec('1,000/h'), quantity: 7, checks: 200 },
      { spec: parseThrottleSpec('3/m'), quantity: 1, checks: 6 },
      { spec: parseThrottleSpec('20/30min,max_burst=1'), quantity: 1, checks: 3 },
      // More at once than the burst: never allowed, by either.
      { spec: parseThrottleSpec('20/30min,max_burst=1'), quantity: 2, checks: 2 },
    ];
    const verdicts = new Set<boolean>();
    for (const [n, { spec, quantity, checks }] of cases.entries()) {
      // The local gcra, driven with the redis server's clock readings.
      let tat: number | undefined;
      for (let i = 0; i < checks; i++) {
        const step = await store.step(`gcra-${n}`, spec, quantity);
        // What redis stored is what the local throttle would hold (a passed time and no key
        // are the same: a fresh throttle).
        if (tat !== undefined && tat >= step.now) expect(step.tat).toBe(tat);
        else expect(step.tat === undefined || step.tat < step.now).toBe(true);
        const local = gcra(tat, spec, step.now, quantity);
        expect(step.allowed).toBe(!local.result.throttled);
        expect(step.result).toEqual(local.result);
        if (local.tat !== undefined) tat = local.tat;
        verdicts.add(step.allowed);
        if (i % 5 === 4) await new Promise((r) => setTimeout(r, 30));
      }
    }
    // Both verdicts were compared.
    expect(verdicts).toEqual(new Set([true, false]));
  });

  it('two clients share one throttle: five a minute in all, whoever asks', async () => {
    const p = keys();
    const a = throttles(client(), p);
    const b = throttles(client(), p);
    const spec = parseThrottleSpec('5/m');
    let allowed = 0;
    for (let i = 0; i < 10; i++) {
      const result = await (i % 2 === 0 ? a : b).check('shared', spec);
      if (!result.throttled) allowed++;
      else expect(result.retryAfter).toBeGreaterThan(0);
    }
    expect(allowed).toBe(5);
  });

  it('a limit of two holds across two clients; a release wakes a waiter on the other client', async () => {
    const p = keys();
    const a = limits(client(), p);
    const b = limits(client(), p);
    const first = await a.acquire('pool', 2);
    const second = await b.acquire('pool', 2);
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    expect(await a.acquire('pool', 2)).toBeUndefined();
    expect(await b.acquire('pool', 2)).toBeUndefined();
    // Another limit is another count.
    const other = await b.acquire('other', 1);
    expect(other).toBeDefined();
    let woken = 0;
    b.whenReleased('pool', () => {
      woken++;
      return true;
    });
    first!.release();
    await eventually(() => (woken === 1 ? true : undefined), 5000, 'the waiter on b to wake');
    const third = await b.acquire('pool', 2);
    expect(third).toBeDefined();
    expect(a.held + b.held).toBe(3);
    for (const lease of [second, third, other] as Lease[]) lease.release();
    await eventually(async () => ((await a.acquire('pool', 2)) ? true : undefined), 5000);
  });

  it('renewal keeps a lease past its time; a client gone without releasing frees it after the lease time', async () => {
    const p = keys();
    const holder = client();
    const a = limits(holder, p, 2000);
    const b = limits(client(), p, 2000);
    const lease = await a.acquire('one', 1);
    expect(lease).toBeDefined();
    // Over two lease times later, renewed all along, it is still held.
    await new Promise((r) => setTimeout(r, 4500));
    expect(await b.acquire('one', 1)).toBeUndefined();
    // The holder's connection goes (as a killed node's would): no release, no renewal.
    holder.disconnect();
    const taken = await eventually(() => b.acquire('one', 1), 10_000, 'the lapsed lease');
    expect(taken).toBeDefined();
  });

  it('a node that stops gives its leases back at once, released just before or still held', async () => {
    const p = keys();
    const node = client();
    const a = limits(node, p);
    const b = limits(client(), p);
    const released = await a.acquire('stop-released', 1);
    const held = await a.acquire('stop-held', 1);
    released!.release();
    // As the daemon stops: the limits close, then their connection.
    await a.close();
    node.disconnect();
    expect(held).toBeDefined();
    // No lease time (60 s here) to wait for either.
    expect(await b.acquire('stop-released', 1)).toBeDefined();
    expect(await b.acquire('stop-held', 1)).toBeDefined();
  });

  it('redis stopped: checks and leases fail with a clear error; started again: they work', async () => {
    const p = keys();
    const c = client();
    const store = throttles(c, p);
    const limiter = limits(c, p);
    const spec = parseThrottleSpec('100/s');
    expect((await store.check('outage', spec)).throttled).toBe(false);
    await redis.stop();
    try {
      await expect(store.check('outage', spec)).rejects.toThrow(
        /redis throttles: cannot check throttle 'outage'/,
      );
      await expect(limiter.acquire('outage', 1)).rejects.toThrow(
        /redis connection limits: cannot take a lease on 'outage'.*127\.0\.0\.1/,
      );
      await expect(store.check('outage', spec)).rejects.toBeInstanceOf(SharedStoreError);
    } finally {
      await redis.start();
    }
    await eventually(
      () =>
        store.check('outage', spec).then(
          (r) => !r.throttled || undefined,
          () => undefined,
        ),
      15_000,
      'throttle checks after redis is back',
    );
    expect(await limiter.acquire('outage', 1)).toBeDefined();
  });
});
