import { type RedisService, startRedis } from '@sterna/protocol-testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChunkRuntime, startChunkRuntime } from '../support/policy-chunks.js';

// kumo.redis.open / require 'redis' from a real policy runtime (worker threads), answered by the
// daemon's PolicyServices, against a real redis-server. The policy runs the Lua chunks the tests
// give it, so each test reads as the policy code it exercises.

describe('kumo.redis.open against a real redis-server', { timeout: 120_000 }, () => {
  let redis: RedisService;
  let direct: Redis;
  let chunks: ChunkRuntime;

  const run = (code: string, ...args: unknown[]) => chunks.run(code, ...args);
  const failure = (code: string, ...args: unknown[]) => chunks.failure(code, ...args);

  beforeAll(async () => {
    redis = await startRedis();
    direct = new Redis(redis.url);
    direct.on('error', () => {});
    // Two contexts: both must reach the same connection.
    chunks = await startChunkRuntime({ contexts: 2, deadlineMs: 30_000 });
  }, 120_000);
  afterAll(async () => {
    await chunks?.close();
    direct?.disconnect();
    await redis?.close();
  });

  it("require 'redis' and kumo.redis are the same module; conn:query returns redis' replies as Lua values", async () => {
    const result = (await run(
      `local url = ...
       local redis = require 'redis'
       assert(redis == kumo.redis, 'require redis is kumo.redis')
       local conn = redis.open { node = url }
       local out = {}
       out.set = conn:query('SET', 'greeting', 'hello')
       out.get = conn:query('get', 'greeting')
       out.incr = conn:query('INCRBY', 'counter', 2)
       out.incr_type = math.type(out.incr)
       out.missing = conn:query('GET', 'no-such-key') == nil
       conn:query('RPUSH', 'list', 'a', 'b', 3)
       out.list = conn:query('LRANGE', 'list', 0, -1)
       conn:query('HSET', 'hash', 'field', 'value')
       out.hash = conn:query('HGETALL', 'hash')
       out.nested = conn:query('EVAL', "return {1, {'x', 2}, false}", 0)
       return out`,
      redis.url,
    )) as Record<string, unknown>;
    expect(result).toEqual({
      set: 'OK',
      get: 'hello',
      incr: 2,
      incr_type: 'integer',
      missing: true,
      list: ['a', 'b', '3'],
      hash: ['field', 'value'],
      nested: [1, ['x', 2]],
    });
    // Written to the real server.
    expect(await direct.get('counter')).toBe('2');
  });

  it('raises redis query <CMD>: <message> on an error reply, and names a bad argument', async () => {
    await direct.set('text', 'abc');
    const incr = await failure(
      `local conn = require('redis').open { node = ... }
       conn:query('INCR', 'text')`,
      redis.url,
    );
    expect(incr).toMatch(/redis query INCR: ERR value is not an integer/);
    const unknown = await failure(
      `require('redis').open({ node = ... }):query('NOSUCHCOMMAND', 'x')`,
      redis.url,
    );
    expect(unknown).toMatch(/redis query NOSUCHCOMMAND: ERR unknown command/);
    const bad = await failure(
      `require('redis').open({ node = ... }):query('SET', 'k', { 1 })`,
      redis.url,
    );
    expect(bad).toMatch(/redis query SET: argument 2 must be a string or a number, not table/);
    // The connection is shared by every context: commands that would change or hold it are refused.
    expect(
      await failure(`require('redis').open({ node = ... }):query('multi')`, redis.url),
    ).toMatch(
      /redis query multi: MULTI would change the connection every Lua context shares; use EVAL/,
    );
    expect(
      await failure(`require('redis').open({ node = ... }):query('BLPOP', 'list', 0)`, redis.url),
    ).toMatch(/redis query BLPOP: BLPOP would hold the connection/);
    const noCommand = await failure(`require('redis').open({ node = ... }):query()`, redis.url);
    expect(noCommand).toMatch(/redis query: expected a command name/);
  });

  it('raises redis.open: … naming a bad parameter or URL', async () => {
    expect(await failure(`require('redis').open { node = ..., pool_sise = 3 }`, redis.url)).toMatch(
      /redis\.open.*pool_sise/,
    );
    expect(await failure(`require('redis').open { node = 'http://example.com/' }`)).toMatch(
      /redis\.open: .*'http:\/\/example\.com\/' is not a redis URL/,
    );
    expect(await failure(`require('redis').open 'redis://x'`)).toMatch(
      /redis\.open: expected a table of parameters/,
    );
  });

  it('kumo.memoize shares one connection object; equal parameters share one connection on the daemon', async () => {
    const result = (await run(
      `local url = ...
       local open = kumo.memoize(function(node) return kumo.redis.open { node = node } end,
         { name = 'redis-conn', ttl = '5 minutes', capacity = 4 })
       local a, b = open(url), open(url)
       local c = kumo.redis.open { node = url }
       return { same_object = rawequal(a, b), same_id = a.id == c.id,
                text = tostring(a), value = a:query('INCR', 'memo') }`,
      redis.url,
    )) as Record<string, unknown>;
    expect(result).toMatchObject({ same_object: true, same_id: true, value: 1 });
    expect(result.text).toMatch(/^redis\.Connection\(\d+\)$/);
    // Every context of the pool reaches the same daemon-side connection: one client in CLIENT LIST.
    await Promise.all(
      Array.from({ length: 6 }, () =>
        run(`kumo.redis.open({ node = ... }):query('INCR', 'memo')`, redis.url),
      ),
    );
    expect(await direct.get('memo')).toBe('7');
    const clients = ((await direct.call('CLIENT', 'LIST')) as string)
      .split('\n')
      .filter((line) => line.includes('name=sterna-policy'));
    expect(clients).toHaveLength(1);
  });

  it('raises promptly while redis is away, and works again once it is back', async () => {
    await run(`kumo.redis.open({ node = ... }):query('SET', 'before', '1')`, redis.url);
    await redis.stop();
    const started = Date.now();
    const away = await failure(`kumo.redis.open({ node = ... }):query('GET', 'before')`, redis.url);
    // Well inside the query's own 30 s deadline: the connection does not wait for the server.
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(away).toMatch(/redis query GET: redis at redis:\/\/127\.0\.0\.1:\d+\/ is unreachable/);
    await redis.start();
    // The client reconnects on its own (its pause grows to 2 s between attempts).
    let answer: unknown;
    for (let attempt = 0; attempt < 100 && answer === undefined; attempt++) {
      answer = await run(
        `return kumo.redis.open({ node = ... }):query('SET', 'after', 'yes')`,
        redis.url,
      ).catch(() => new Promise((resolve) => setTimeout(() => resolve(undefined), 200)));
    }
    expect(answer).toBe('OK');
  });
});
