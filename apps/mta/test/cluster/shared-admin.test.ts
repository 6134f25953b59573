import { type Logger, silentLogger } from '@sterna/core';
import { redisParamsSchema } from '@sterna/lua';
import { type RedisService, startRedis } from '@sterna/protocol-testkit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LeverBook, SharedAdmin } from '../../src/cluster/shared-admin.js';
import { type Rule, RuleSet } from '../../src/queue/admin-rules.js';
import { PathOverrides, ReadyQueueSuspensions } from '../../src/queue/shaping.js';
import { eventually } from '../support/mail.js';

/** One node's levers (the engine's own classes) and what their effects did. */
interface Node {
  readonly book: LeverBook;
  readonly suspensions: RuleSet;
  readonly bounces: RuleSet;
  readonly ready: ReadyQueueSuspensions;
  readonly overrides: PathOverrides;
  /** Bounce rules from the fleet this node swept its queues for. */
  readonly swept: Rule[];
  /** Suspensions cancelled elsewhere that released what they held here. */
  readonly released: string[];
  /** Ready queue names woken by a lifted suspension. */
  readonly lifted: string[];
  readonly logs: string[];
  readonly log: Logger;
  shared?: SharedAdmin;
}

function makeNode(): Node {
  const swept: Rule[] = [];
  const released: string[] = [];
  const lifted: string[] = [];
  const logs: string[] = [];
  const suspensions = new RuleSet(Date.now, () => {}, { dropped: (id) => released.push(id) });
  const bounces = new RuleSet(Date.now, () => {}, { applied: (rule) => swept.push(rule) });
  const ready = new ReadyQueueSuspensions(
    Date.now,
    (name) => lifted.push(name),
    () => {},
  );
  const overrides = new PathOverrides(Date.now, () => {});
  const log: Logger = {
    ...silentLogger,
    info: (m) => logs.push(`info ${m}`),
    warn: (m) => logs.push(`warn ${m}`),
    error: (m) => logs.push(`error ${m}`),
  };
  return {
    book: { suspend: suspensions, bounce: bounces, 'ready-suspend': ready, override: overrides },
    suspensions,
    bounces,
    ready,
    overrides,
    swept,
    released,
    lifted,
    logs,
    log,
  };
}

const ids = (list: readonly { id: string }[]) => list.map((l) => l.id).sort();

describe('SharedAdmin: levers shared through a real redis', { timeout: 120_000 }, () => {
  let redis: RedisService;
  let raw: Redis;
  const started: SharedAdmin[] = [];
  const nodes: Node[] = [];

  const start = async (name: string, node = makeNode(), resyncMs = 30_000) => {
    node.shared = await SharedAdmin.start(redisParamsSchema.parse({ node: redis.url }), node.book, {
      nodeId: name,
      log: node.log,
      resyncMs,
    });
    started.push(node.shared);
    nodes.push(node);
    return node;
  };

  beforeAll(async () => {
    redis = await startRedis({ persist: true });
    raw = new Redis(redis.url);
    raw.on('error', () => {}); // redis is stopped on purpose below
  });
  afterEach(async () => {
    for (const shared of started.splice(0)) await shared.close();
    for (const node of nodes.splice(0)) {
      node.ready.stop();
      node.overrides.stop();
    }
    await raw.flushall();
  });
  afterAll(async () => {
    raw?.disconnect();
    await redis?.close();
  });

  it('ignores what is not a lever of ours, on the channel or in the hash, and goes on', async () => {
    const node = await start('node-a');
    const channel = 'sterna:{admin}:events';
    const far = Date.now() + 600_000;
    const event = (kind: string, lever: unknown) =>
      JSON.stringify({ node: 'elsewhere', op: 'add', kind, id: 'x', lever });
    for (const hostile of [
      'null',
      '42',
      'not json',
      '{"op":"cancel"}',
      event('bounce', { id: 'x', expires: far }), // no reason
      event('bounce', { id: 'x', expires: far, reason: 'r', queue_names: 'a' }),
      event('ready-suspend', { id: 'x', expires: far, reason: 'r' }), // no name
      event('override', { id: 'x', expires: far, reason: 'r', name: 'n', scope: null }),
      event('suspend', { id: 'x', expires: 'later', reason: 'r' }),
    ])
      await raw.publish(channel, hostile);
    await raw.hset('sterna:{admin}:bounce', 'y', 'garbage', 'z', '{"lever":{"id":"z"}}');
    // A well-formed lever after them all still arrives (written and announced as a node does):
    // the listener lived through them.
    const good = { id: 'x', expires: far, reason: 'after', domain: 'ok.example' };
    await raw.hset(
      'sterna:{admin}:suspend',
      'x',
      JSON.stringify({ node: 'elsewhere', lever: good }),
    );
    await raw.publish(channel, event('suspend', good));
    await eventually(() => (node.suspensions.list().length === 1 ? true : undefined), 10_000);
    node.shared!.resync();
    await node.shared!.settled();
    expect(ids(node.suspensions.list())).toEqual(['x']);
    expect(node.bounces.list()).toEqual([]);
    expect(node.ready.list()).toEqual([]);
    expect(node.overrides.list()).toEqual([]);
    // The malformed hash entries were dropped when read.
    expect(await raw.hkeys('sterna:{admin}:bounce')).toEqual([]);
    expect(node.logs.filter((l) => l.includes('not one of ours'))).toHaveLength(4);
  });

  it('a suspension made on one node is held by the other with the same id and end; a cancel there lifts it here', async () => {
    const a = await start('node-a');
    const b = await start('node-b');
    const rule = a.suspensions.add({ domain: 'example.com' }, 'maintenance', 60);
    const seen = await eventually(
      () => b.suspensions.rules().find((r) => r.id === rule.id),
      20_000,
      'the suspension on node b',
    );
    expect(seen).toMatchObject({ domain: 'example.com', reason: 'maintenance' });
    expect(seen.expires).toBe(rule.expires);
    expect(ids(b.suspensions.list())).toEqual([rule.id]);

    expect(b.suspensions.cancel(rule.id)).toBe(true);
    await eventually(
      () => (a.suspensions.empty ? true : undefined),
      20_000,
      'the cancel on node a',
    );
    // a's held mail is released by the remote cancel; b's own cancel goes through its API.
    expect(a.released).toEqual([rule.id]);
    expect(b.released).toEqual([]);
    expect(await raw.hlen('sterna:{admin}:suspend')).toBe(0);
  });

  it('a bounce rule from another node sweeps this node’s queues; the node that made it does not sweep twice (no echo)', async () => {
    const a = await start('node-a');
    const b = await start('node-b');
    const events: string[] = [];
    const listener = new Redis(redis.url);
    try {
      await listener.subscribe('sterna:{admin}:events');
      listener.on('message', (_channel, text: string) => events.push(text));
      const rule = a.bounces.add({ tenant: 'spammer' }, 'abuse', 120);
      await eventually(() => (b.swept.length > 0 ? true : undefined), 20_000, 'b’s sweep');
      expect(b.swept.map((r) => r.id)).toEqual([rule.id]);
      expect(ids(b.bounces.list())).toEqual([rule.id]);
      await eventually(() => (events.length > 0 ? true : undefined), 20_000, 'the event');
      // Give an echo every chance to happen before counting.
      await a.shared!.settled();
      await b.shared!.settled();
      await new Promise((r) => setTimeout(r, 500));
      expect(a.swept).toEqual([]);
      expect(events).toHaveLength(1);
      expect(JSON.parse(events[0]!)).toMatchObject({ node: 'node-a', op: 'add', kind: 'bounce' });
    } finally {
      listener.disconnect();
    }
  });

  it('ready-queue suspensions and path overrides travel too; a renewed override replaces the old one everywhere', async () => {
    const a = await start('node-a');
    const b = await start('node-b');
    const suspension = b.ready.add('src->mx.example@smtp_client', 'too many 421', 60);
    await eventually(() => a.ready.of('src->mx.example@smtp_client'), 20_000, 'a’s suspension');
    expect(ids(a.ready.list())).toEqual([suspension.id]);
    b.ready.cancel(suspension.id);
    await eventually(() => (a.ready.list().length === 0 ? true : undefined), 20_000, 'lift on a');
    expect(a.lifted).toEqual(['src->mx.example@smtp_client']);

    a.overrides.set({ domain: 'example.com' }, 'connection_limit', 2, 'first', 60);
    await eventually(() => (b.overrides.size === 1 ? true : undefined), 20_000, 'b’s override');
    a.overrides.set({ domain: 'example.com' }, 'connection_limit', 1, 'second', 60);
    const renewed = await eventually(
      () => b.overrides.list().find((o) => o.reason === 'second'),
      20_000,
      'the renewal on b',
    );
    expect(b.overrides.list()).toHaveLength(1);
    expect(renewed.value).toBe(1);
    expect(ids(b.overrides.list())).toEqual(ids(a.overrides.list()));
    // A node started now reads one override, not the renewed one beside it.
    const c = await start('node-c');
    expect(ids(c.overrides.list())).toEqual(ids(a.overrides.list()));
  });

  it('a node starting later loads the levers in force before its start resolves, not the lapsed ones', async () => {
    const a = await start('node-a');
    const live = a.suspensions.add({ tenant: 't1' }, 'live', 60);
    const ready = a.ready.add('q', 'live', 60);
    await a.shared!.settled();
    // A lapsed entry, as a node that died long ago left it.
    await raw.hset(
      'sterna:{admin}:suspend',
      'lapsed',
      JSON.stringify({
        node: 'gone',
        lever: { id: 'lapsed', tenant: 't2', reason: 'old', expires: Date.now() - 1000 },
      }),
    );
    const c = await start('node-c');
    expect(ids(c.suspensions.list())).toEqual([live.id]);
    expect(ids(c.ready.list())).toEqual([ready.id]);
    expect(await raw.hexists('sterna:{admin}:suspend', 'lapsed')).toBe(0);
    expect(c.logs.some((l) => l.includes('2 lever(s) of the fleet loaded'))).toBe(true);
  });

  it('a lever that lapses is gone on every node at the same moment', async () => {
    const a = await start('node-a');
    const b = await start('node-b');
    const rule = a.suspensions.add({ domain: 'short.example' }, 'brief', 2);
    const seen = await eventually(
      () => b.suspensions.rules().find((r) => r.id === rule.id),
      20_000,
      'b’s copy',
    );
    expect(seen.expires).toBe(rule.expires);
    await eventually(
      () =>
        a.suspensions.match('short.example') || b.suspensions.match('short.example')
          ? undefined
          : true,
      20_000,
      'the lapse on both',
    );
    expect(Date.now()).toBeGreaterThanOrEqual(rule.expires);
  });

  it('while redis is away levers hold locally; when it returns they are written, cancels too, with one log line each way', async () => {
    const a = await start('node-a', makeNode(), 1_000);
    const b = await start('node-b', makeNode(), 1_000);
    const before = a.suspensions.add({ domain: 'old.example' }, 'before', 120);
    await eventually(() => b.suspensions.rules().find((r) => r.id === before.id), 20_000, 'b');

    await redis.stop();
    await eventually(
      () => (a.logs.some((l) => l.includes('redis unreachable')) ? true : undefined),
      20_000,
      'a’s outage line',
    );
    const during = a.suspensions.add({ domain: 'new.example' }, 'during', 120);
    expect(a.suspensions.match('new.example')?.id).toBe(during.id);
    expect(a.suspensions.cancel(before.id)).toBe(true);
    // Another outage line is not written for each failed write.
    await a.shared!.settled();

    await redis.start();
    await eventually(
      () => b.suspensions.rules().find((r) => r.id === during.id),
      30_000,
      'the lever made during the outage on b',
    );
    await eventually(
      () => (b.suspensions.rules().some((r) => r.id === before.id) ? undefined : true),
      30_000,
      'the cancel made during the outage on b',
    );
    await eventually(
      () => (a.logs.some((l) => l.includes('redis reachable again')) ? true : undefined),
      20_000,
      'a’s return line',
    );
    expect(a.logs.filter((l) => l.includes('redis unreachable'))).toHaveLength(1);
    expect(a.logs.filter((l) => l.includes('redis reachable again'))).toHaveLength(1);
    expect(ids(a.suspensions.list())).toEqual([during.id]);
  });

  it('a redis that comes back without its data gets every node’s levers again', async () => {
    const a = await start('node-a', makeNode(), 1_000);
    const b = await start('node-b', makeNode(), 1_000);
    const rule = a.bounces.add({ domain: 'kept.example' }, 'kept', 120);
    await eventually(() => b.bounces.rules().find((r) => r.id === rule.id), 20_000, 'b');
    await raw.flushall();
    const c = await start('node-c', makeNode(), 1_000);
    // The next comparison on a and b sees a new epoch and writes back what they hold.
    await eventually(() => c.bounces.rules().find((r) => r.id === rule.id), 30_000, 'c');
    expect(ids(a.bounces.list())).toEqual([rule.id]);
    expect(ids(b.bounces.list())).toEqual([rule.id]);
  });

  it('a node starting while redis is down starts with its own levers and writes them when redis comes', async () => {
    const b = await start('node-b', makeNode(), 1_000);
    await redis.stop();
    const a = makeNode();
    // A lever kept by the state file of an earlier run, never written to redis.
    a.suspensions.applyShared({
      id: 'from-the-file',
      domain: 'file.example',
      reason: 'kept',
      expires: Date.now() + 120_000,
      suppressLogging: false,
    });
    const startedAt = Date.now();
    await start('node-a', a, 1_000);
    expect(Date.now() - startedAt).toBeLessThan(60_000);
    expect(a.logs.filter((l) => l.includes('redis unreachable'))).toHaveLength(1);
    const local = a.suspensions.add({ domain: 'local.example' }, 'made while down', 120);
    expect(a.suspensions.match('local.example')?.id).toBe(local.id);
    await redis.start();
    await eventually(
      () => (ids(b.suspensions.list()).length === 2 ? true : undefined),
      30_000,
      'both of a’s levers on b',
    );
    expect(ids(b.suspensions.list())).toEqual(['from-the-file', local.id].sort());
  });
});
