import { parseThrottleSpec } from '@sterna/core/engine';
import { parseConfigParams } from '@sterna/lua';
import { type RedisService, startRedis } from '@sterna/protocol-testkit';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedis, type RedisClient } from '../../src/cluster/redis-connect.js';
import { RedisConnectionLimits } from '../../src/cluster/redis-limits.js';
import { RedisThrottles } from '../../src/cluster/redis-throttles.js';
import { eventually } from '../support/mail.js';

// KumoMTA's cluster form (`cluster = true`, or a list of nodes) against a real redis-server
// running as a one-node cluster: the scripts, the renewals (one call per lease there) and the
// release announcements work through ioredis' cluster client.
describe('shared throttles and limits on a redis cluster', { timeout: 60_000 }, () => {
  let redis: RedisService;
  const clients: RedisClient[] = [];
  const limiters: RedisConnectionLimits[] = [];

  beforeAll(async () => {
    redis = await startRedis({ cluster: true });
  });
  afterAll(async () => {
    for (const limiter of limiters) await limiter.close();
    for (const client of clients) client.disconnect();
    await redis?.close();
  });

  const client = () => {
    const params = parseConfigParams('redis_throttles', { node: redis.url, cluster: true });
    const c = openRedis(params, { failFast: true });
    clients.push(c);
    return c;
  };

  it('shares a throttle and a limit between two cluster clients; renewals and releases go through', async () => {
    const [one, two] = [client(), client()];
    expect(one).toBeInstanceOf(Cluster);
    const a = new RedisThrottles(one, { where: redis.url });
    const b = new RedisThrottles(two, { where: redis.url });
    const spec = parseThrottleSpec('3/h');
    let allowed = 0;
    for (let i = 0; i < 6; i++) {
      const store = i % 2 === 0 ? a : b;
      // The first commands wait for the cluster client to learn the slots.
      const result = await eventually(
        () => store.check('cluster-shared', spec).catch(() => undefined),
        15_000,
        'a cluster check',
      );
      if (!result.throttled) allowed++;
    }
    expect(allowed).toBe(3);

    const la = new RedisConnectionLimits(one, { where: redis.url, leaseMs: 2000 });
    const lb = new RedisConnectionLimits(two, { where: redis.url, leaseMs: 2000 });
    limiters.push(la, lb);
    const lease = await la.acquire('cluster-limit', 1);
    expect(lease).toBeDefined();
    // Renewed past two lease times, one call per lease.
    await new Promise((r) => setTimeout(r, 4500));
    expect(await lb.acquire('cluster-limit', 1)).toBeUndefined();
    let woken = false;
    lb.whenReleased('cluster-limit', () => {
      woken = true;
      return true;
    });
    lease!.release();
    await eventually(() => (woken ? true : undefined), 10_000, 'the announced release');
    expect(await lb.acquire('cluster-limit', 1)).toBeDefined();
  });
});
