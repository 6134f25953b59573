import { egressPath } from '@sterna/core/engine';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReadyQueueView, ViewedMessage } from '../../src/queue/admin-types.js';
import { type Answer, callJson, type Started, startTestListener, TestAdmin } from './fixtures.js';

let started: Started | undefined;
afterEach(async () => {
  await started?.listener.close();
  started = undefined;
});

const T0 = Date.parse('2026-01-01T00:00:00Z');

const call = (method: string, url: string, body?: unknown): Promise<Answer> =>
  callJson(method, url, body);

function held(id: string, queue: string): ViewedMessage {
  return {
    id,
    sender: 's@x.example',
    recipients: ['a@y.example'],
    meta: { queue },
    due: T0 + 300_000,
    num_attempts: 2,
    queue,
  };
}

const READY = 'unspecified->mx.y.example@smtp_client';

function readyView(overrides: Partial<ReadyQueueView> = {}): ReadyQueueView {
  return {
    name: READY,
    site: 'mx.y.example',
    protocol: 'smtp_client',
    egress_pool: 'unspecified',
    egress_source: 'unspecified',
    path: egressPath({ connection_limit: 2 }),
    ready_count: 1,
    connection_count: 0,
    messages: () => [held('m1', 'y.example')],
    suspended: undefined,
    connection_limited: undefined,
    connection_rate_throttled: undefined,
    ...overrides,
  };
}

describe('suspend-ready-q/v1', () => {
  it('POST suspends (5m by default, humantime, seconds or expires), GET lists, DELETE lifts', async () => {
    const admin = new TestAdmin();
    admin.now = () => T0;
    started = await startTestListener({}, { admin, now: () => T0 });
    const url = `${started.url}/api/admin/suspend-ready-q/v1`;

    const first = await call('POST', url, { name: READY, reason: 'postmaster asked' });
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ id: 'r1' });
    expect((await call('POST', url, { name: 'q2', reason: 'r', duration: '1h 30m' })).status).toBe(
      200,
    );
    expect((await call('POST', url, { name: 'q3', reason: 'r', duration: 90 })).status).toBe(200);
    expect(
      (
        await call('POST', url, {
          name: 'q4',
          reason: 'r',
          duration: null,
          expires: '2026-01-01T02:00:00Z',
        })
      ).status,
    ).toBe(200);
    expect(admin.requests).toEqual([
      { name: READY, reason: 'postmaster asked', duration: 300 },
      { name: 'q2', reason: 'r', duration: 5400 },
      { name: 'q3', reason: 'r', duration: 90 },
      { name: 'q4', reason: 'r', duration: 7200 },
    ]);

    const list = await call('GET', url);
    expect(list.status).toBe(200);
    expect((list.json as unknown[])[0]).toEqual({
      id: 'r1',
      name: READY,
      reason: 'postmaster asked',
      duration: '5m',
      expires: '2026-01-01T00:05:00.000Z',
    });
    expect((list.json as { duration: string }[]).map((e) => e.duration)).toEqual([
      '5m',
      '1h 30m',
      '1m 30s',
      '2h',
    ]);

    expect((await call('DELETE', url, { id: 'r1' })).status).toBe(200);
    const again = await call('DELETE', url, { id: 'r1' });
    expect(again.status).toBe(404);
    expect(again.text).toBe('no ready-queue suspension with id r1');
  });

  it('refuses a missing name or reason, an unknown key, a bad duration or expires with 400', async () => {
    started = await startTestListener();
    const url = `${started.url}/api/admin/suspend-ready-q/v1`;
    const noName = await call('POST', url, { reason: 'x' });
    expect(noName.status).toBe(400);
    expect(noName.text).toContain('name');
    const noReason = await call('POST', url, { name: READY });
    expect(noReason.status).toBe(400);
    expect(noReason.text).toContain('reason');
    const unknown = await call('POST', url, { name: READY, reason: 'x', domain: 'y.example' });
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain("unknown key 'domain'");
    const duration = await call('POST', url, { name: READY, reason: 'x', duration: 'a while' });
    expect(duration.status).toBe(400);
    expect(duration.text).toContain('duration');
    const expires = await call('POST', url, { name: READY, reason: 'x', expires: 'tomorrow' });
    expect(expires.status).toBe(400);
    expect(expires.text).toContain("expires: 'tomorrow' is not an RFC 3339 time");
    const cancel = await call('DELETE', url, { id: 'r1', name: READY });
    expect(cancel.status).toBe(400);
    expect(cancel.text).toContain("unknown key 'name'");
    expect(started.admin.requests).toEqual([]);
  });
});

describe('rebind/v1', () => {
  it('hands the request to the engine (nulls as absent) and answers {}', async () => {
    started = await startTestListener();
    const url = `${started.url}/api/admin/rebind/v1`;
    const answer = await call('POST', url, {
      domain: 'y.example',
      campaign: null,
      reason: 'move to the maildir',
      data: { queue: 'archive' },
      always_flush: true,
      trigger_rebind_event: false,
    });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({});
    expect(started.admin.rebinds).toEqual([
      {
        domain: 'y.example',
        reason: 'move to the maildir',
        data: { queue: 'archive' },
        always_flush: true,
        trigger_rebind_event: false,
      },
    ]);
  });

  it('refuses a missing reason or data, data that is not strings, and unknown keys', async () => {
    started = await startTestListener();
    const url = `${started.url}/api/admin/rebind/v1`;
    expect((await call('POST', url, { data: {} })).text).toContain('reason');
    expect((await call('POST', url, { reason: 'x' })).text).toContain('data');
    const numbers = await call('POST', url, { reason: 'x', data: { queue: 5 } });
    expect(numbers.status).toBe(400);
    expect(numbers.text).toContain('data.queue');
    const unknown = await call('POST', url, { reason: 'x', data: {}, queue_names: ['q'] });
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain("unknown key 'queue_names'");
    expect(started.admin.rebinds).toEqual([]);
  });
});

describe('inspect-sched-q/v1', () => {
  it('lists a queue’s messages (up to limit, with bodies when asked), 404 for an unknown queue', async () => {
    started = await startTestListener({}, { now: () => T0 });
    const { admin } = started;
    admin.view.scheduled.set('y.example', [held('m1', 'y.example'), held('m2', 'y.example')]);
    admin.queued = {
      id: 'm2',
      message: {
        sender: 's@x.example',
        recipient: 'a@y.example',
        meta: {},
        data: 'Subject: hi\r\n\r\n',
        num_attempts: 2,
      },
    };
    const url = `${started.url}/api/admin/inspect-sched-q/v1`;
    const all = await call('GET', `${url}?queue_name=y.example`);
    expect(all.status).toBe(200);
    expect(all.json).toEqual({
      queue_name: 'y.example',
      messages: [
        {
          id: 'm1',
          message: {
            sender: 's@x.example',
            recipient: 'a@y.example',
            meta: { queue: 'y.example' },
            due: '2026-01-01T00:05:00.000Z',
            num_attempts: 2,
          },
        },
        expect.objectContaining({ id: 'm2' }),
      ],
      num_scheduled: 2,
      queue_config: {},
      delayed_metric: 2,
      now: '2026-01-01T00:00:00.000Z',
      last_changed: '2026-01-01T00:00:00.000Z',
    });
    const one = await call('GET', `${url}?queue_name=y.example&limit=1`);
    expect((one.json as { messages: unknown[] }).messages).toHaveLength(1);
    const bodies = await call('GET', `${url}?queue_name=y.example&want_body=true`);
    const data = (bodies.json as { messages: { message: { data?: string } }[] }).messages.map(
      (m) => m.message.data,
    );
    expect(data).toEqual([undefined, 'Subject: hi\r\n\r\n']);

    const missing = await call('GET', `${url}?queue_name=z.example`);
    expect(missing.status).toBe(404);
    expect(missing.text).toBe("no scheduled queue named 'z.example'");
  });

  it('refuses a missing queue_name, a bad limit or want_body, and unknown keys', async () => {
    started = await startTestListener();
    const url = `${started.url}/api/admin/inspect-sched-q/v1`;
    expect((await call('GET', url)).text).toContain('queue_name');
    const limit = await call('GET', `${url}?queue_name=q&limit=-1`);
    expect(limit.status).toBe(400);
    expect(limit.text).toContain('limit: expected a whole number of messages');
    expect((await call('GET', `${url}?queue_name=q&want_body=yes`)).status).toBe(400);
    const unknown = await call('GET', `${url}?queue_name=q&lmit=5`);
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain("unknown key 'lmit'");
  });
});

describe('inspect-ready-q/v1 and ready-q-states/v1', () => {
  it('inspect-ready-q: KumoMTA’s snapshot of one ready queue; 404 for an unknown one', async () => {
    started = await startTestListener({}, { now: () => T0, deliveryWatchdog: 300 });
    started.admin.view.ready.push(
      readyView({
        suspended: {
          id: 'r9',
          name: READY,
          reason: 'blocked',
          duration: 120,
          expires: '2026-01-01T00:02:00.000Z',
        },
      }),
    );
    const url = `${started.url}/api/admin/inspect-ready-q/v1`;
    const answer = await call('GET', `${url}?queue_name=${encodeURIComponent(READY)}`);
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({
      queue_name: READY,
      site_name: 'mx.y.example',
      egress_pool: 'unspecified',
      egress_source: 'unspecified',
      protocol: 'smtp_client',
      state: {
        connection_count: 0,
        ready_count: 1,
        connection_limited: null,
        suspended: { id: 'r9', reason: 'blocked', duration: '2m' },
        watchdog_threshold: '5m',
      },
      path_config: { connection_limit: 2 },
      constraints: {
        max_concurrent_dispatchers: { value: 2, source: { kind: 'primary' }, display: '2' },
      },
      dispatchers: [],
      now: '2026-01-01T00:00:00.000Z',
    });
    const withQueues = await call(
      'GET',
      `${url}?queue_name=${encodeURIComponent(READY)}&include_scheduled_queues=true`,
    );
    expect((withQueues.json as { scheduled_queue_names: string[] }).scheduled_queue_names).toEqual([
      'y.example',
    ]);
    const missing = await call('GET', `${url}?queue_name=nope`);
    expect(missing.status).toBe(404);
    expect(missing.text).toBe("no ready queue named 'nope'");
    expect((await call('GET', url)).status).toBe(400);
    expect((await call('GET', `${url}?queue_name=x&verbose=1`)).text).toContain(
      "unknown key 'verbose'",
    );
  });

  it('ready-q-states: the throttled and limited queues, all or those named (repeated key)', async () => {
    started = await startTestListener();
    started.admin.view.ready.push(
      readyView({
        name: 'a->x@smtp_client',
        connection_limited: { since: T0, context: 'TooManyLeases for global' },
      }),
      readyView({
        name: 'b->x@smtp_client',
        connection_rate_throttled: { since: T0, context: 'max_connection_rate' },
      }),
      readyView({ name: 'c->x@smtp_client' }),
    );
    const url = `${started.url}/api/admin/ready-q-states/v1`;
    const all = await call('GET', url);
    expect(all.status).toBe(200);
    expect(
      Object.keys((all.json as { states_by_ready_queue: object }).states_by_ready_queue),
    ).toEqual(['a->x@smtp_client', 'b->x@smtp_client']);
    const one = await call('GET', `${url}?queues=${encodeURIComponent('b->x@smtp_client')}`);
    expect(one.json).toEqual({
      states_by_ready_queue: {
        'b->x@smtp_client': {
          connection_rate_throttled: {
            context: 'max_connection_rate',
            since: '2026-01-01T00:00:00.000Z',
          },
        },
      },
    });
    const two = await call(
      'GET',
      `${url}?queues=${encodeURIComponent('a->x@smtp_client')}&queues=${encodeURIComponent('c->x@smtp_client')}`,
    );
    expect(
      Object.keys((two.json as { states_by_ready_queue: object }).states_by_ready_queue),
    ).toEqual(['a->x@smtp_client']);
    expect((await call('GET', `${url}?queue=a`)).text).toContain("unknown key 'queue'");
  });
});

describe('resolve-egress-path/v1', () => {
  it('asks the engine for (domain, source), source unspecified by default', async () => {
    started = await startTestListener();
    const url = `${started.url}/api/admin/resolve-egress-path/v1`;
    const answer = await call('GET', `${url}?domain=y.example`);
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({
      domain: 'y.example',
      source: 'unspecified',
      queue_name: 'unspecified->y.example@smtp_client',
      queue_config: { max_age: 604_800 },
      path_config: { connection_limit: 32 },
      constraints: {
        max_concurrent_dispatchers: { value: 32, source: { kind: 'primary' }, display: '32' },
        max_message_rate: null,
      },
      mx: null,
    });
    await call('GET', `${url}?domain=y.example&source=ip1`);
    expect(started.admin.view.resolved).toEqual([
      ['y.example', 'unspecified'],
      ['y.example', 'ip1'],
    ]);
  });

  it('answers 500 with the policy’s text when it fails, 400 without a domain', async () => {
    started = await startTestListener();
    started.admin.view.resolve = () => {
      throw new Error('get_egress_path_config: attempt to index a nil value');
    };
    const url = `${started.url}/api/admin/resolve-egress-path/v1`;
    const failed = await call('GET', `${url}?domain=y.example`);
    expect(failed.status).toBe(500);
    expect(failed.text).toBe(
      'cannot resolve the egress path for y.example from unspecified: get_egress_path_config: attempt to index a nil value',
    );
    expect((await call('GET', url)).text).toContain('domain');
    expect((await call('GET', `${url}?domain=y.example&site=x`)).status).toBe(400);
  });
});

describe('bump-config-epoch', () => {
  it('starts a new epoch; refuses a body with keys; 501 when the listener has no epochs', async () => {
    let bumps = 0;
    started = await startTestListener({}, { bumpConfigEpoch: () => bumps++ });
    const url = `${started.url}/api/admin/bump-config-epoch`;
    const answer = await call('POST', url);
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('');
    expect((await call('POST', url, {})).status).toBe(200);
    expect(bumps).toBe(2);
    const keyed = await call('POST', url, { now: true });
    expect(keyed.status).toBe(400);
    expect(keyed.text).toContain("unknown key 'now'");
    expect(bumps).toBe(2);
    await started.listener.close();

    started = await startTestListener();
    expect((await call('POST', `${started.url}/api/admin/bump-config-epoch`)).status).toBe(501);
  });
});

describe('who may pull the levers', () => {
  it('answers 403 to a peer outside trusted_hosts on every lever, before touching the engine', async () => {
    let bumps = 0;
    started = await startTestListener(
      { trusted_hosts: ['10.0.0.0/8'] },
      { bumpConfigEpoch: () => bumps++ },
    );
    const base = `${started.url}/api/admin`;
    const calls: [string, string, unknown?][] = [
      ['POST', `${base}/suspend-ready-q/v1`, { name: READY, reason: 'x' }],
      ['GET', `${base}/suspend-ready-q/v1`],
      ['DELETE', `${base}/suspend-ready-q/v1`, { id: 'r1' }],
      ['POST', `${base}/rebind/v1`, { reason: 'x', data: {} }],
      ['GET', `${base}/inspect-sched-q/v1?queue_name=q`],
      ['GET', `${base}/inspect-ready-q/v1?queue_name=q`],
      ['GET', `${base}/ready-q-states/v1`],
      ['GET', `${base}/resolve-egress-path/v1?domain=y.example`],
      ['POST', `${base}/bump-config-epoch`],
    ];
    for (const [method, url, body] of calls) {
      const answer = await call(method, url, body);
      expect(answer.status, `${method} ${url}`).toBe(403);
      expect(answer.text).toBe('forbidden: only trusted_hosts may use this endpoint');
    }
    expect(started.admin.requests).toEqual([]);
    expect(started.admin.rebinds).toEqual([]);
    expect(started.admin.view.resolved).toEqual([]);
    expect(bumps).toBe(0);
  });
});
