import { type SmtpSink, startSmtpSink } from '@sterna/protocol-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLogRecords } from '../../src/logs/index.js';
import { callJson } from '../http/fixtures.js';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { eventually, maildirMessages, sendMail, testMessage } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';

// Two sinks so the two SMTP destinations are two ready queues (a ready queue is per site, and
// the site is the mx_list). `archive` is a Maildir queue: where rebind sends held mail.
// rate.example's path lets one connection an hour carry one message: the second message waits
// on max_connection_rate, which ready-q-states reports.
const POLICY = (held: number, rate: number) => `
kumo.on('get_queue_config', function(domain)
  if domain == 'archive' then
    return kumo.make_queue_config { protocol = { maildir_path = DIR .. '/maildir' } }
  end
  local port = domain == 'rate.example' and ${rate} or ${held}
  return kumo.make_queue_config {
    retry_interval = '1h',
    protocol = { smtp = { mx_list = { '127.0.0.1:' .. port } } },
  }
end)
kumo.on('get_egress_path_config', function(domain, source, site)
  if domain == 'rate.example' then
    return kumo.make_egress_path {
      prohibited_hosts = {}, enable_tls = 'Disabled',
      connection_limit = 3, max_connection_rate = '1/h', max_deliveries_per_connection = 1,
    }
  end
  return kumo.make_egress_path { prohibited_hosts = {}, enable_tls = 'Disabled' }
end)
`;

interface Reply {
  readonly status: number;
  readonly json: unknown;
  readonly text: string;
}

describe('the admin API’s shaping levers on a running daemon', { timeout: 240_000 }, () => {
  let dir: PolicyDir;
  let daemon: DaemonProcess;
  let heldSink: SmtpSink;
  let rateSink: SmtpSink;

  beforeAll(async () => {
    heldSink = await startSmtpSink({ tls: false });
    rateSink = await startSmtpSink({ tls: false });
    dir = await writePolicy(POLICY(heldSink.port, rateSink.port));
    daemon = await startDaemon(dir.policy, { env: { STERNA_LOG: 'info' } });
  }, 180_000);
  afterAll(async () => {
    await daemon?.kill();
    await heldSink?.close();
    await rateSink?.close();
    await dir?.cleanup();
  });

  const api = (method: string, path: string, body?: unknown): Promise<Reply> =>
    callJson(method, `${daemon.http}/api/admin/${path}`, body);
  const send = (to: string, subject: string) =>
    sendMail(daemon.smtp, { from: 'tests@example.org', to: [to] }, testMessage(subject));
  const readyQueueName = async (domain: string) => {
    const resolved = await api('GET', `resolve-egress-path/v1?domain=${domain}`);
    expect(resolved.status).toBe(200);
    return (resolved.json as { queue_name: string }).queue_name;
  };

  it('resolve-egress-path returns the policy’s path, its ready queue and the ceilings it implies', async () => {
    const resolved = await api('GET', 'resolve-egress-path/v1?domain=rate.example');
    expect(resolved.status).toBe(200);
    expect(resolved.json).toMatchObject({
      domain: 'rate.example',
      source: 'unspecified',
      queue_name: `unspecified->mx_list:127.0.0.1:${rateSink.port}@smtp_client`,
      queue_config: { retry_interval: 3600 },
      path_config: {
        connection_limit: 3,
        max_connection_rate: '1/h',
        max_deliveries_per_connection: 1,
      },
      constraints: {
        max_concurrent_dispatchers: { value: 3, source: { kind: 'primary' }, display: '3' },
        max_connection_rate: { value: 1 / 3600, source: { kind: 'primary' }, display: '1/h' },
        max_message_rate: {
          value: 1 / 3600,
          source: { kind: 'reconnect_cycling' },
          display: '1 × 1/h = 1/h',
        },
      },
    });
  });

  it('suspend-ready-q holds the next message in its ready queue; DELETE releases it within seconds', async () => {
    const name = await readyQueueName('held.example');
    const created = await api('POST', 'suspend-ready-q/v1', {
      name,
      reason: 'talking to the postmaster',
      duration: '10m',
    });
    expect(created.status).toBe(200);
    const { id } = created.json as { id: string };

    const listed = await api('GET', 'suspend-ready-q/v1');
    expect(listed.json).toEqual([
      expect.objectContaining({ id, name, reason: 'talking to the postmaster' }),
    ]);

    await send('user@held.example', 'held by the suspension');
    // The message reaches its ready queue and waits there, the queue reported suspended.
    const inspected = await eventually(
      async () => {
        const r = await api('GET', `inspect-ready-q/v1?queue_name=${encodeURIComponent(name)}`);
        const ready = r.json as { state?: { ready_count: number } } | undefined;
        return r.status === 200 && ready?.state?.ready_count === 1 ? ready : undefined;
      },
      30_000,
      'the message in the suspended ready queue',
    );
    expect(inspected).toMatchObject({
      queue_name: name,
      protocol: 'smtp_client',
      state: {
        ready_count: 1,
        connection_count: 0,
        suspended: { id, name, reason: 'talking to the postmaster' },
      },
    });
    // Still held a moment later: nothing reached the sink.
    await new Promise((r) => setTimeout(r, 1000));
    expect(heldSink.messages).toHaveLength(0);

    const lifted = Date.now();
    expect((await api('DELETE', 'suspend-ready-q/v1', { id })).status).toBe(200);
    const [message] = await heldSink.waitForMessages(1, 15_000);
    expect(message!.data.toString()).toContain('Subject: held by the suspension');
    // Seconds, not a retry interval (the queue's is an hour).
    expect(Date.now() - lifted).toBeLessThan(15_000);
    expect((await api('DELETE', 'suspend-ready-q/v1', { id })).status).toBe(404);
  });

  it('suspend-ready-q also holds a queue whose dispatcher idles on an open connection', async () => {
    const name = await readyQueueName('held.example');
    // The last test's delivery left its connection open, idling for idle_timeout (60 s).
    const idle = await api('GET', `inspect-ready-q/v1?queue_name=${encodeURIComponent(name)}`);
    expect(idle.json).toMatchObject({ state: { connection_count: 1 } });
    const before = heldSink.messages.length;
    const created = await api('POST', 'suspend-ready-q/v1', {
      name,
      reason: 'again',
      duration: '10m',
    });
    const { id } = created.json as { id: string };

    await send('user@held.example', 'held although a connection is open');
    await eventually(
      async () => {
        const r = await api('GET', `inspect-ready-q/v1?queue_name=${encodeURIComponent(name)}`);
        const ready = r.json as { state?: { ready_count: number } } | undefined;
        return ready?.state?.ready_count === 1 ? true : undefined;
      },
      30_000,
      'the message waiting in the suspended ready queue',
    );
    expect(heldSink.messages).toHaveLength(before);

    expect((await api('DELETE', 'suspend-ready-q/v1', { id })).status).toBe(200);
    const delivered = await heldSink.waitForMessages(before + 1, 30_000);
    expect(delivered.at(-1)!.data.toString()).toContain('Subject: held although a connection');
  });

  it('inspect-sched-q shows mail a suspension holds; rebind moves it into the Maildir queue', async () => {
    const suspended = await api('POST', 'suspend/v1', {
      domain: 'moved.example',
      reason: 'hold for the move',
      duration: '10m',
    });
    expect(suspended.status).toBe(200);
    await send('a@moved.example', 'moved one');
    await send('b@moved.example', 'moved two');

    const inspected = await eventually(
      async () => {
        const r = await api('GET', 'inspect-sched-q/v1?queue_name=moved.example&want_body=true');
        const q = r.json as
          | { num_scheduled: number; messages: { message: Record<string, unknown> }[] }
          | undefined;
        return r.status === 200 && q?.num_scheduled === 2 ? q : undefined;
      },
      30_000,
      'both messages held in moved.example',
    );
    expect(inspected).toMatchObject({ queue_name: 'moved.example', delayed_metric: 2 });
    // The config the queue resolved to, as KumoMTA reports it.
    expect(
      (inspected as unknown as { queue_config: Record<string, unknown> }).queue_config,
    ).toMatchObject({
      max_age: 604_800,
    });
    const { messages } = inspected;
    expect(messages.map((m) => m.message.recipient).sort()).toEqual([
      'a@moved.example',
      'b@moved.example',
    ]);
    expect(String(messages[0]!.message.data)).toMatch(/Subject: moved (one|two)/);
    expect(heldSink.messages.flatMap((m) => m.recipients)).not.toContain('a@moved.example');

    const rebound = await api('POST', 'rebind/v1', {
      domain: 'moved.example',
      reason: 'into the archive',
      data: { queue: 'archive' },
    });
    expect(rebound.status).toBe(200);
    expect(rebound.json).toEqual({});
    const files = await eventually(
      async () => {
        const found = await maildirMessages(dir.maildir);
        return found.length === 2 ? found : undefined;
      },
      30_000,
      'two messages in the Maildir',
    );
    expect(files.join('\n')).toContain('Subject: moved one');
    expect(files.join('\n')).toContain('Subject: moved two');
    const records = await eventually(
      async () => {
        const all = (await readLogRecords(dir.logs)).filter((r) => r.type === 'AdminRebind');
        return all.length === 2 ? all : undefined;
      },
      30_000,
      'two AdminRebind records',
    );
    for (const record of records)
      expect(JSON.stringify(record.response)).toContain('moved.example');
    expect((await api('GET', 'inspect-sched-q/v1?queue_name=moved.example')).status).toBe(404);
  });

  it('ready-q-states and inspect-ready-q show a queue waiting on max_connection_rate', async () => {
    const name = await readyQueueName('rate.example');
    await send('one@rate.example', 'rate one');
    await send('two@rate.example', 'rate two');
    await rateSink.waitForMessages(1, 30_000);

    const states = await eventually(
      async () => {
        const r = await api('GET', `ready-q-states/v1?queues=${encodeURIComponent(name)}`);
        const s = (r.json as { states_by_ready_queue: Record<string, unknown> })
          .states_by_ready_queue;
        return s[name] ? s : undefined;
      },
      30_000,
      'the connection rate state',
    );
    expect(states).toEqual({
      [name]: {
        connection_rate_throttled: {
          context: expect.stringContaining('max_connection_rate'),
          since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        },
      },
    });
    const inspected = await api('GET', `inspect-ready-q/v1?queue_name=${encodeURIComponent(name)}`);
    expect(inspected.json).toMatchObject({
      queue_name: name,
      state: {
        ready_count: 1,
        connection_rate_throttled: { context: expect.stringContaining('max_connection_rate') },
        suspended: null,
      },
      constraints: { max_connection_rate: { display: '1/h' } },
      dispatchers: [],
    });
    expect(rateSink.messages).toHaveLength(1);
  });

  it('bump-config-epoch reloads the policy', async () => {
    const bumped = await api('POST', 'bump-config-epoch');
    expect(bumped.status).toBe(200);
    await eventually(
      () =>
        /config epoch \d+ \([^)]*\): policy reloaded/.test(daemon.output()) ? true : undefined,
      60_000,
      'the config epoch log line',
    );
  });
});
