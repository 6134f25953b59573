import { type SmtpSink, startSmtpSink } from '@sterna/protocol-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_FORBIDDEN } from '../../src/dashboard/access.js';
import type {
  HelloEvent,
  JourneySearch,
  Overview,
  QueuesSnapshot,
  TickEvent,
} from '../../src/dashboard/wire.js';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { eventually, sendMail, testMessage } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';

// Every domain goes to one loopback sink; its 4xx for `tempfail…` recipients holds a message.
const POLICY = (port: number, auth: boolean) => `
kumo.on('get_queue_config', function(domain)
  return kumo.make_queue_config {
    retry_interval = '1h',
    protocol = { smtp = { mx_list = { '127.0.0.1:${port}' } } },
  }
end)
kumo.on('get_egress_path_config', function()
  return kumo.make_egress_path { prohibited_hosts = {}, enable_tls = 'Disabled' }
end)
${
  auth
    ? `kumo.on('http_server_validate_auth_basic', function(user, password)
  return user == 'ops' and password == 's3cret'
end)`
    : ''
}
`;
// A second HTTP listener whose trusted_hosts leaves loopback out: the untrusted peer.
const UNTRUSTED = `kumo.start_http_listener { listen = '127.0.0.1:0', trusted_hosts = { '192.0.2.1' } }`;

function httpListeners(daemon: DaemonProcess): { trusted: string; untrusted: string } {
  const all = [...daemon.output().matchAll(/http listener on (\S+)/g)].map((m) => `http://${m[1]}`);
  expect(all).toHaveLength(2);
  return { trusted: all[0]!, untrusted: all[1]! };
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Reads SSE events from `url` until `enough` says so (bounded), aborting the request after. */
async function readEvents(
  url: string,
  enough: (events: { event: string; data: unknown }[]) => boolean,
  onEvent: (event: { event: string; data: unknown }) => void = () => undefined,
  timeoutMs = 30_000,
): Promise<{ event: string; data: unknown }[]> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error('no more events')), timeoutMs);
  const events: { event: string; data: unknown }[] = [];
  try {
    const response = await fetch(url, { signal: abort.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    while (!enough(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (event && data) {
          events.push({ event, data: JSON.parse(data) });
          onEvent(events.at(-1)!);
        }
        end = buffer.indexOf('\n\n');
      }
    }
    return events;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

describe('the dashboard on a daemon without an auth handler', { timeout: 240_000 }, () => {
  let dir: PolicyDir;
  let sink: SmtpSink;
  let daemon: DaemonProcess | undefined;
  let urls: { trusted: string; untrusted: string };

  beforeAll(async () => {
    sink = await startSmtpSink({ tls: false });
    dir = await writePolicy(POLICY(sink.port, false), UNTRUSTED);
    daemon = await startDaemon(dir.policy);
    urls = httpListeners(daemon);
  });
  afterAll(async () => {
    await daemon?.kill();
    await sink?.close();
    await dir?.cleanup();
  });

  it('refuses an untrusted peer with 403 on every /ui path, naming the rule', async () => {
    for (const path of [
      '/ui',
      '/ui/',
      '/ui/assets/app.js',
      '/ui/api/overview',
      '/ui/api/events',
      '/ui/api/admin/suspend/v1',
    ]) {
      const response = await fetch(`${urls.untrusted}${path}`, {
        headers: { authorization: basic('ops', 's3cret') },
        redirect: 'manual',
      });
      expect(response.status, path).toBe(403);
      expect(await response.text(), path).toBe(DASHBOARD_FORBIDDEN);
    }
    const post = await fetch(`${urls.untrusted}/ui/api/admin/suspend/v1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ domain: 'x.test', reason: 'no' }),
    });
    expect(post.status).toBe(403);
  });

  it('counts delivered mail in the overview, and the event stream moves with it', async () => {
    const redirect = await fetch(`${urls.trusted}/ui`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/ui/');

    const before = (await (await fetch(`${urls.trusted}/ui/api/overview`)).json()) as Overview;
    expect(before.listeners.map((l) => l.kind).sort()).toEqual(['http', 'http', 'smtp']);
    expect(before.drivers.map((d) => d.protocol)).toContain('smtp');
    expect(before.policy.path).toBe(dir.policy);
    expect(before.log_dirs).toEqual([dir.logs]);
    expect(before.disks.map((d) => d.name)).toContain('data spool');

    // Watch first (until hello came), then send: the ticks must show the deliveries.
    let helloCame: () => void = () => undefined;
    const hello = new Promise<void>((resolve) => (helloCame = resolve));
    const watching = readEvents(
      `${urls.trusted}/ui/api/events`,
      (events) =>
        events.some(
          (e) => e.event === 'tick' && (e.data as TickEvent).overview.totals.delivered >= 3,
        ),
      (e) => e.event === 'hello' && helloCame(),
    );
    await Promise.race([hello, watching]);
    for (let i = 0; i < 3; i++)
      await sendMail(
        daemon!.smtp,
        { from: 'sender@example.org', to: [`user${i}@ok.test`] },
        testMessage(`overview ${i}`),
      );
    const events = await watching;
    expect(events[0]!.event).toBe('hello');
    const first = events[0]!.data as HelloEvent;
    expect(first.overview.node_id).toBe(before.node_id);
    expect(Array.isArray(first.history)).toBe(true);
    expect(Array.isArray(first.queues.scheduled)).toBe(true);
    const ticks = events.filter((e) => e.event === 'tick').map((e) => e.data as TickEvent);
    // Every message arrived after hello: the ticks' samples count each of them once.
    const received = ticks.reduce((sum, t) => sum + t.sample.received, 0);
    expect(received).toBe(ticks.at(-1)!.overview.totals.received - first.overview.totals.received);
    expect(ticks.at(-1)!.overview.totals.delivered).toBeGreaterThan(
      first.overview.totals.delivered,
    );

    const after = await eventually(async () => {
      const o = (await (await fetch(`${urls.trusted}/ui/api/overview`)).json()) as Overview;
      return o.totals.delivered >= 3 ? o : undefined;
    });
    expect(after.totals.received).toBeGreaterThanOrEqual(3);
    expect(sink.messages.length).toBeGreaterThanOrEqual(3);
  });

  it("finds a held message by recipient and by id, with the sink's 4xx and where it waits", async () => {
    await sendMail(
      daemon!.smtp,
      { from: 'sender@example.org', to: ['tempfail-journey@held.test'] },
      testMessage('journey'),
    );
    const found = await eventually(async () => {
      const response = await fetch(
        `${urls.trusted}/ui/api/journey?q=${encodeURIComponent('TempFail-Journey@HELD.test')}`,
      );
      expect(response.status).toBe(200);
      const search = (await response.json()) as JourneySearch;
      const journey = search.journeys[0];
      return journey?.events.some((e) => e.type === 'TransientFailure') ? search : undefined;
    });
    expect(found.by).toBe('address');
    expect(found.logs?.dirs).toEqual([dir.logs]);
    const journey = found.journeys[0]!;
    expect(journey.events.map((e) => e.type)).toEqual(['Reception', 'TransientFailure']);
    expect(journey.events[1]!.response.code).toBe(450);
    expect(journey.events[1]!.response.content).toContain('mailbox temporarily unavailable');
    expect(journey.outcome).toBe('queued');
    expect(journey.now).toMatchObject({ queue: 'held.test', where: 'scheduled', num_attempts: 1 });
    expect(journey.now!.due).toBeGreaterThan(Date.now() + 30 * 60_000);

    const byId = (await (
      await fetch(`${urls.trusted}/ui/api/journey?q=${journey.id.toUpperCase()}`)
    ).json()) as JourneySearch;
    expect(byId.by).toBe('id');
    expect(byId.journeys.map((j) => j.id)).toEqual([journey.id]);
    expect(byId.journeys[0]!.events).toHaveLength(2);

    const queues = (await (await fetch(`${urls.trusted}/ui/api/queues`)).json()) as QueuesSnapshot;
    expect(queues.scheduled).toContainEqual(
      expect.objectContaining({ name: 'held.test', domain: 'held.test', count: 1 }),
    );
  });

  it('answers a bad query with 400 and a clear text', async () => {
    const empty = await fetch(`${urls.trusted}/ui/api/journey?q=%20`);
    expect(empty.status).toBe(400);
    expect(await empty.text()).toMatch(/^q: give a spool id/);
    const long = await fetch(`${urls.trusted}/ui/api/journey?q=${'a'.repeat(321)}`);
    expect(long.status).toBe(400);
    expect(await long.text()).toMatch(/too long/);
  });

  it('suspends through /ui/api/admin, the same lever /api/admin lists, and cancels it', async () => {
    const made = await fetch(`${urls.trusted}/ui/api/admin/suspend/v1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ domain: 'held.test', reason: 'dashboard test', duration: '10m' }),
    });
    expect(made.status).toBe(200);
    const { id } = (await made.json()) as { id: string };
    const listed = (await (await fetch(`${urls.trusted}/api/admin/suspend/v1`)).json()) as {
      id: string;
      reason: string;
    }[];
    expect(listed).toContainEqual(expect.objectContaining({ id, reason: 'dashboard test' }));
    const queues = (await (await fetch(`${urls.trusted}/ui/api/queues`)).json()) as QueuesSnapshot;
    expect(queues.scheduled.find((q) => q.name === 'held.test')?.suspended?.id).toBe(id);

    const cancelled = await fetch(`${urls.trusted}/ui/api/admin/suspend/v1`, {
      method: 'DELETE',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id }),
    });
    expect(cancelled.status).toBe(200);
    expect(await (await fetch(`${urls.trusted}/api/admin/suspend/v1`)).json()).toEqual([]);
  });
});

describe('the dashboard on a daemon whose policy checks Basic credentials', {
  timeout: 240_000,
}, () => {
  let dir: PolicyDir;
  let sink: SmtpSink;
  let daemon: DaemonProcess | undefined;
  let urls: { trusted: string; untrusted: string };

  beforeAll(async () => {
    sink = await startSmtpSink({ tls: false });
    dir = await writePolicy(POLICY(sink.port, true), UNTRUSTED);
    daemon = await startDaemon(dir.policy);
    urls = httpListeners(daemon);
  });
  afterAll(async () => {
    await daemon?.kill();
    await sink?.close();
    await dir?.cleanup();
  });

  it('asks an untrusted peer for credentials, refuses wrong ones and lets right ones in', async () => {
    for (const path of ['/ui/', '/ui/api/overview', '/ui/api/events', '/ui/api/admin/suspend/v1']) {
      const none = await fetch(`${urls.untrusted}${path}`);
      expect(none.status, path).toBe(401);
      expect(none.headers.get('www-authenticate'), path).toBe('Basic realm="sterna"');
      await none.text();
      const wrong = await fetch(`${urls.untrusted}${path}`, {
        headers: { authorization: basic('ops', 'guess') },
      });
      expect(wrong.status, path).toBe(401);
      await wrong.text();
    }
    const right = await fetch(`${urls.untrusted}/ui/api/overview`, {
      headers: { authorization: basic('ops', 's3cret') },
    });
    expect(right.status).toBe(200);
    expect(((await right.json()) as Overview).node_id).toMatch(/\S/);
    const listed = await fetch(`${urls.untrusted}/ui/api/admin/suspend/v1`, {
      headers: { authorization: basic('ops', 's3cret') },
    });
    expect(listed.status).toBe(200);
    expect(await listed.json()).toEqual([]);
  });

  it('stops promptly with an event stream open', async () => {
    const abort = new AbortController();
    try {
      const response = await fetch(`${urls.trusted}/ui/api/events`, { signal: abort.signal });
      expect(response.status).toBe(200);
      const reader = response.body!.getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toContain('retry: 2000');
      const ended = (async () => {
        for (;;) if ((await reader.read()).done) return true;
      })().catch(() => true);
      const code = await daemon!.stop();
      daemon = undefined;
      expect(code).toBe(0);
      expect(await ended).toBe(true);
    } finally {
      abort.abort();
    }
  });
});
