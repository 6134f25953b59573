import { afterEach, describe, expect, it } from 'vitest';
import { type Answer, callJson, type Started, startTestListener } from './fixtures.js';

let started: Started | undefined;
afterEach(async () => {
  await started?.listener.close();
  started = undefined;
});

const call = (method: string, url: string, body?: unknown): Promise<Answer> =>
  callJson(method, url, body);

describe('GET /metrics', () => {
  it('serves Prometheus text with KumoMTA’s names and the engine’s figures at scrape time', async () => {
    started = await startTestListener();
    const response = await fetch(`${started.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    // Outcomes by service come from the process telemetry (test/e2e/metrics.test.ts).
    expect(text).toContain('# TYPE total_messages_received counter\n');
    expect(text).toContain('# TYPE total_messages_delivered counter\n');
    expect(text).toContain('total_messages_expired 1\n');
    expect(text).toContain('# TYPE message_count gauge\nmessage_count 9\n');
    expect(text).toContain('# TYPE scheduled_count gauge\n');
    expect(text).toContain('scheduled_count{queue="example.com"} 4\n');
    expect(text).toContain('scheduled_count{queue="tenant@example.org"} 1\n');
    // KumoMTA's service label: <protocol>:<source>-><site>, plus the protocol's aggregate.
    expect(text).toContain('ready_count{service="smtp_client:unspecified->mx_list:127.0.0.1"} 5\n');
    expect(text).toContain(
      'connection_count{service="smtp_client:unspecified->mx_list:127.0.0.1"} 2\n',
    );
    expect(text).toContain('connection_count{service="smtp_client"} 2\n');
  });

  it('reads the figures again at every scrape and drops queues that went away', async () => {
    let delivered = 0;
    let scheduled: Record<string, number> = { 'a.example': 3 };
    started = await startTestListener(
      {},
      {
        stats: () => ({
          counters: {
            received: delivered,
            delivered,
            transientFailures: 0,
            bounced: 0,
            expired: 0,
          },
          messages: delivered,
          scheduled,
          ready: {},
        }),
        processMetrics: true,
      },
    );
    delivered = 5;
    const first = await (await fetch(`${started.url}/metrics`)).text();
    expect(first).toContain('message_count 5\n');
    expect(first).toContain('scheduled_count{queue="a.example"} 3\n');
    expect(first).toContain('process_cpu_user_seconds_total');
    delivered = 9;
    scheduled = { 'b.example': 1 };
    const second = await (await fetch(`${started.url}/metrics`)).text();
    expect(second).toContain('message_count 9\n');
    expect(second).not.toContain('a.example');
    expect(second).toContain('scheduled_count{queue="b.example"} 1\n');
  });
});

describe('admin endpoints', () => {
  it('bounce: POST creates a rule (duration default 5m), GET lists, DELETE cancels', async () => {
    started = await startTestListener();
    const url = `${started.url}/api/admin/bounce/v1`;
    const created = await call('POST', url, { domain: 'example.com', reason: 'purge' });
    expect(created.status).toBe(200);
    expect(created.json).toEqual({ id: 'b1', bounced: { 'example.com': 2 }, total_bounced: 2 });
    const second = await call('POST', url, {
      campaign: 'spring',
      tenant: 't',
      queue_names: ['q1'],
      reason: 'r2',
      duration: '1h 30m',
      suppress_logging: true,
    });
    expect(second.status).toBe(200);
    expect(started.admin.requests).toEqual([
      { domain: 'example.com', reason: 'purge', duration: 300 },
      {
        campaign: 'spring',
        tenant: 't',
        queue_names: ['q1'],
        reason: 'r2',
        duration: 5400,
        suppress_logging: true,
      },
    ]);
    const list = await call('GET', url);
    expect(list.json).toEqual([
      { id: 'b1', domain: 'example.com', reason: 'purge', duration: 300 },
      {
        id: 'b2',
        campaign: 'spring',
        tenant: 't',
        queue_names: ['q1'],
        reason: 'r2',
        duration: 5400,
        suppress_logging: true,
      },
    ]);
    expect((await call('DELETE', url, { id: 'b1' })).status).toBe(200);
    expect([...started.admin.bounces.keys()]).toEqual(['b2']);
    const again = await call('DELETE', url, { id: 'b1' });
    expect(again.status).toBe(404);
    expect(again.text).toContain('b1');
  });

  it('bounce: refuses a missing reason, an unknown key and a bad duration with 400', async () => {
    started = await startTestListener();
    const url = `${started.url}/api/admin/bounce/v1`;
    const noReason = await call('POST', url, { domain: 'example.com' });
    expect(noReason.status).toBe(400);
    expect(noReason.text).toContain('reason');
    const unknown = await call('POST', url, { reason: 'x', domian: 'example.com' });
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain("unknown key 'domian'");
    const duration = await call('POST', url, { reason: 'x', duration: 'soon' });
    expect(duration.status).toBe(400);
    expect(duration.text).toContain('duration');
    expect(started.admin.requests).toEqual([]);
  });

  it('suspend: POST, GET, DELETE, with expires as an alternative to duration', async () => {
    started = await startTestListener({}, { now: () => Date.parse('2026-01-01T00:00:00Z') });
    const url = `${started.url}/api/admin/suspend/v1`;
    const created = await call('POST', url, {
      domain: 'slow.example',
      reason: 'maintenance',
      expires: '2026-01-01T02:00:00Z',
    });
    expect(created.status).toBe(200);
    expect(created.json).toEqual({ id: 's1' });
    expect(started.admin.requests).toEqual([
      { domain: 'slow.example', reason: 'maintenance', duration: 7200 },
    ]);
    expect((await call('GET', url)).json).toEqual([
      { id: 's1', domain: 'slow.example', reason: 'maintenance', duration: 7200 },
    ]);
    expect((await call('POST', url, { reason: 'x', suppress_logging: true })).status).toBe(400);
    expect((await call('DELETE', url, { id: 's1' })).status).toBe(200);
    expect((await call('DELETE', url, { id: 's1' })).status).toBe(404);
  });

  it('inspect-message: 200 with or without the body, 404 for an unknown id, 400 for a malformed one', async () => {
    started = await startTestListener();
    const id = '8a54ad9d4b3b11ef9c2a0242ac120002';
    started.admin.queued = {
      id,
      message: {
        sender: 's@x.example',
        recipient: 'a@y.example',
        meta: { queue: 'y.example' },
        data: 'Subject: hi\r\n\r\nbody\r\n',
        num_attempts: 2,
      },
    };
    const url = `${started.url}/api/admin/inspect-message/v1`;
    const withBody = await call('GET', `${url}?id=${id}&want_body=true`);
    expect(withBody.status).toBe(200);
    expect(withBody.json).toEqual({
      id,
      message: {
        sender: 's@x.example',
        recipient: 'a@y.example',
        meta: { queue: 'y.example' },
        data: 'Subject: hi\r\n\r\nbody\r\n',
        num_attempts: 2,
      },
    });
    const without = await call('GET', `${url}?id=${id}`);
    expect((without.json as { message: object }).message).not.toHaveProperty('data');
    expect((await call('GET', `${url}?id=${id.replace('8a', '9a')}`)).status).toBe(404);
    expect((await call('GET', `${url}?id=nope`)).status).toBe(400);
    expect((await call('GET', url)).status).toBe(400);
  });
});
