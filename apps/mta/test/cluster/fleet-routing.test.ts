import type { Logger } from '@sterna/core';
import { parseThrottleSpec } from '@sterna/core/engine';
import { parseConfigParams } from '@sterna/lua';
import { type RedisService, startRedis } from '@sterna/protocol-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from '../../src/cluster/fleet.js';
import { describeRedis } from '../../src/cluster/redis-connect.js';
import { eventually } from '../support/mail.js';

// A logger that keeps its lines, to count them.
function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (message: string) => void lines.push(`${level}: ${message}`);
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('the fleet stores: local until redis is configured, local: specs always', {
  timeout: 60_000,
}, () => {
  let redis: RedisService;
  const fleets: Fleet[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const fleet of fleets) await fleet.close();
    await redis?.close();
  });

  const connected = async (log = recordingLog()) => {
    const fleet = new Fleet(log);
    fleets.push(fleet);
    fleet.connect(
      parseConfigParams('redis_throttles', { node: redis.url, connection_lease_duration: '5s' }),
    );
    await eventually(
      () => (log.lines.some((l) => l.includes('shared through')) ? true : undefined),
      10_000,
      'the connected line',
    );
    return { fleet, log };
  };

  it('keeps everything on this node before connect', async () => {
    const fleet = new Fleet(recordingLog());
    expect(fleet.shared).toBe(false);
    expect(fleet.limits.seesEveryRelease).toBe(true);
    const result = await fleet.throttles.check('alone', parseThrottleSpec('1/h'));
    expect(result.throttled).toBe(false);
    expect(fleet.local.throttles.size).toBe(1);
    const lease = await fleet.limits.acquire('alone', 1);
    expect(fleet.local.limits.held('alone')).toBe(1);
    lease?.release();
    await fleet.close();
  });

  it('shares throttles and limits between two nodes; local: ones stay each node’s own', async () => {
    const { fleet: a, log } = await connected();
    const { fleet: b } = await connected();
    expect(log.lines).toEqual([
      `info: redis throttles: shared through ${redis.url} (throttles and connection limits are fleet-wide; connection leases last 5 s)`,
    ]);
    expect(a.limits.seesEveryRelease).toBe(false);
    const shared = parseThrottleSpec('2/h');
    const local = parseThrottleSpec('local:2/h');
    const allowed = async (spec = shared) => {
      let n = 0;
      for (const fleet of [a, b, a, b]) {
        if (!(await fleet.throttles.check('route', spec)).throttled) n++;
      }
      return n;
    };
    expect(await allowed(shared)).toBe(2);
    // The same key, written local: two each.
    expect(await allowed(local)).toBe(4);
    const lease = await a.limits.acquire('route-limit', 1);
    expect(lease).toBeDefined();
    expect(await b.limits.acquire('route-limit', 1)).toBeUndefined();
    const mine = await a.limits.acquire('local:route-limit', 1);
    const yours = await b.limits.acquire('local:route-limit', 1);
    expect(mine && yours).toBeDefined();
    expect(a.local.limits.held('local:route-limit')).toBe(1);
    for (const l of [lease, mine, yours]) l?.release();
  });

  it('redis away: one warning, shared checks refused, local ones go on; back: one line, checks go', async () => {
    const { fleet, log } = await connected();
    const spec = parseThrottleSpec('100/s');
    await redis.stop();
    try {
      await eventually(
        () => (log.lines.some((l) => l.startsWith('warn:')) ? true : undefined),
        15_000,
        'the warning',
      );
      await expect(fleet.throttles.check('away', spec)).rejects.toThrow(
        `redis throttles: cannot check throttle 'away': ${redis.url} is unreachable (`,
      );
      await expect(fleet.limits.acquire('away', 3)).rejects.toThrow(/is unreachable/);
      expect((await fleet.throttles.check('away', parseThrottleSpec('local:1/s'))).throttled).toBe(
        false,
      );
      // Reconnection attempts go on; the warning is not repeated.
      await new Promise((r) => setTimeout(r, 2500));
    } finally {
      await redis.start();
    }
    await eventually(
      () => (log.lines.some((l) => l.includes('reachable again')) ? true : undefined),
      15_000,
      'the line saying redis is back',
    );
    expect((await fleet.throttles.check('away', spec)).throttled).toBe(false);
    const warnings = log.lines.filter((l) => l.startsWith('warn:'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      new RegExp(
        `^warn: redis throttles: ${redis.url.replace(/[./]/g, '\\$&')} is unreachable \\(.*ECONNREFUSED.*\\); mail under shared throttles and connection limits waits in its queues`,
      ),
    );
    expect(log.lines.filter((l) => l.includes('reachable again'))).toHaveLength(1);
  });

  it('names a redis URL without its password', () => {
    expect(describeRedis({ node: 'redis://user:secret@127.0.0.1:6390/2' })).toBe(
      'redis://user:***@127.0.0.1:6390/2',
    );
    expect(describeRedis({ node: ['redis://a:1', 'redis://b:2'] })).toBe(
      'redis://a:1, redis://b:2',
    );
  });
});
