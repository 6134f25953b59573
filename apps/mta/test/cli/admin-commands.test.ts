import type { LogRecord } from '@sterna/core/engine';
import { type SmtpSink, startSmtpSink } from '@sterna/protocol-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DaemonProcess, runSterna, startDaemon } from '../support/daemon-process.js';
import { eventually } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';
import {
  inject,
  recordsEventually,
  scheduledCount,
  sterna,
  summaryEventually,
} from './cli-support.js';

// Every queue delivers into a Maildir at once, unless an admin suspension holds it;
// sink.example goes by SMTP to a sink, through a ready queue of its own.
const POLICY = (sinkPort: number) => `
kumo.on('get_queue_config', function(domain)
  if domain == 'sink.example' then
    return kumo.make_queue_config { protocol = { smtp = { mx_list = { '127.0.0.1:${sinkPort}' } } } }
  end
  return kumo.make_queue_config { protocol = { maildir_path = DIR .. '/maildir' } }
end)
kumo.on('get_egress_path_config', function(domain, source, site)
  return kumo.make_egress_path { prohibited_hosts = {}, enable_tls = 'Disabled' }
end)
`;

describe('the kcli commands against a running daemon', { timeout: 300_000 }, () => {
  let dir: PolicyDir;
  let daemon: DaemonProcess;
  let http: string;
  let sink: SmtpSink;

  beforeAll(async () => {
    sink = await startSmtpSink({ tls: false });
    dir = await writePolicy(POLICY(sink.port));
    daemon = await startDaemon(dir.policy);
    http = daemon.http!;
  }, 180_000);
  afterAll(async () => {
    await daemon?.kill();
    await sink?.close();
    await dir?.cleanup();
  });

  const ofType = (type: string, ids?: readonly string[]) => (r: LogRecord) =>
    r.type === type && (ids === undefined || ids.includes(r.id));

  it('queue-summary shows a suspended domain’s held messages; rebind moves them; bounce removes them', async () => {
    const suspended = JSON.parse(
      await sterna(
        http,
        'suspend',
        '--domain',
        'held.example',
        '--reason',
        'maintenance',
        '--duration',
        '1h',
      ),
    ) as { id: string };
    expect(suspended.id).toMatch(/\S/);
    expect(await sterna(http, 'suspend-list')).toMatch(/held\.example.*maintenance/);
    const listed = JSON.parse(await sterna(http, 'suspend-list', '--json')) as { id: string }[];
    expect(listed.map((s) => s.id)).toContain(suspended.id);

    await inject(http, ['a@held.example', 'b@held.example']);
    const summary = await summaryEventually(
      http,
      (t) => scheduledCount(t, 'held.example') === 2,
      'held.example with 2 messages',
    );
    expect(summary).toContain('SCHEDULED QUEUE');
    const receptions = await recordsEventually(
      dir.logs,
      ofType('Reception'),
      2,
      'two Reception records',
    );
    const ids = receptions.map((r) => r.id);

    // the held message can be looked at while it waits
    const inspected = JSON.parse(await sterna(http, 'inspect-message', ids[0]!)) as {
      id: string;
      message: { recipient: string };
    };
    expect(inspected.id).toBe(ids[0]);
    const sample = JSON.parse(
      await sterna(http, 'inspect-sched-q', 'held.example', '--limit', '1'),
    ) as Record<string, unknown>;
    expect(JSON.stringify(sample)).toContain('held.example');

    // rebind into a queue that is held too, so the messages stay where queue-summary sees them
    await sterna(
      http,
      'suspend',
      '--queue',
      'parked.example',
      '--reason',
      'hold',
      '--duration',
      '1h',
    );
    expect(
      await sterna(
        http,
        'rebind',
        '--domain',
        'held.example',
        '--set',
        'queue=parked.example',
        '--reason',
        'move',
      ),
    ).toContain('rebind requested');
    const moved = await summaryEventually(
      http,
      (t) =>
        scheduledCount(t, 'parked.example') === 2 &&
        scheduledCount(t, 'held.example') === undefined,
      'the messages in parked.example',
    );
    expect(moved).toContain('parked.example');
    await recordsEventually(dir.logs, ofType('AdminRebind', ids), 2, 'two AdminRebind records');

    const bounced = JSON.parse(
      await sterna(http, 'bounce', '--queue', 'parked.example', '--reason', 'purge test'),
    ) as { id: string };
    await summaryEventually(
      http,
      (t) => scheduledCount(t, 'parked.example') === undefined,
      'parked.example emptied',
    );
    const records = await recordsEventually(
      dir.logs,
      ofType('AdminBounce', ids),
      2,
      'two AdminBounce records',
    );
    expect(records[0]!.response.content).toContain('purge test');

    expect(await sterna(http, 'bounce-list')).toContain(bounced.id);
    expect(await sterna(http, 'bounce-cancel', '--id', bounced.id)).toContain(
      `cancelled ${bounced.id}`,
    );
    expect(await sterna(http, 'bounce-list')).toContain('No bounces.');
    await sterna(http, 'suspend-cancel', '--id', suspended.id);
    expect(await sterna(http, 'suspend-list')).not.toContain('held.example');
  });

  it('shows the daemon’s own message for an HTTP error, on one line, with exit 1', async () => {
    const { code, output } = await runSterna([
      'bounce-cancel',
      '--id',
      'no-such-rule',
      '--endpoint',
      http,
    ]);
    expect(code).toBe(1);
    expect(output.trim().split('\n')).toHaveLength(1);
    expect(output).toContain('404 no bounce rule with id no-such-rule');
  });

  it('suspends and releases a ready queue, whose held message queue-summary lists; resolves an egress path', async () => {
    const resolved = JSON.parse(
      await sterna(http, 'resolve-egress-path', 'sink.example', '--json'),
    ) as {
      queue_name: string;
    };
    expect(resolved.queue_name).toContain(`mx_list:127.0.0.1:${sink.port}`);
    expect(await sterna(http, 'resolve-egress-path', 'sink.example')).toContain(
      `ready queue: ${resolved.queue_name}`,
    );
    const { id } = JSON.parse(
      await sterna(
        http,
        'suspend-ready-q',
        '--name',
        resolved.queue_name,
        '--reason',
        'pause',
        '--duration',
        '1h',
      ),
    ) as { id: string };
    expect(await sterna(http, 'suspend-ready-q-list')).toContain(resolved.queue_name);

    await inject(http, ['r@sink.example']);
    // the ready queue's row: SOURCE SITE PROTO D T C Q, with the message waiting in Q
    const site = `mx_list:127.0.0.1:${sink.port}`;
    const row = new RegExp(
      `unspecified\\s+${site.replace(/\./g, '\\.')}\\s+smtp_client\\s+0\\s+\\d+\\s+0\\s+1\\n`,
    );
    await summaryEventually(http, (t) => row.test(t), 'the ready queue holding one message');
    expect(JSON.parse(await sterna(http, 'inspect-ready-q', resolved.queue_name))).toBeTypeOf(
      'object',
    );

    await sterna(http, 'suspend-ready-q-cancel', '--id', id);
    expect(await sterna(http, 'suspend-ready-q-list')).not.toContain(resolved.queue_name);
    await eventually(() => (sink.messages.length === 1 ? true : undefined), 60_000, 'the delivery');
    expect(JSON.parse(await sterna(http, 'ready-q-states'))).toHaveProperty(
      'states_by_ready_queue',
    );
  });

  it('top draws a frame and provider-summary a table once mail has gone out', async () => {
    await inject(http, ['c@ok.example']);
    await recordsEventually(dir.logs, ofType('Delivery'), 1, 'a Delivery record');
    const frame = await sterna(http, 'top', '--frames', '2', '--update-interval', '1');
    expect(frame).toMatch(/sterna top: http:\/\/127\.0\.0\.1:\d+/);
    expect(frame).toMatch(/received\s+\d+\s+\S+\/s/);
    expect(frame).toContain('delivered');
    expect(await sterna(http, 'provider-summary')).toMatch(/PROVIDER|No ready queues/);
  });

  it('set-log-filter changes what the daemon logs; a filter it cannot read is refused', async () => {
    const applied = () => daemon.output().split('diagnostic log filter').length - 1;
    expect(applied()).toBe(0); // started at warn: the info line is not written
    await sterna(http, 'set-log-filter', 'kumod=info,kumo_lua=debug');
    await eventually(() => (applied() === 1 ? true : undefined), 10_000, 'the info line');
    expect(daemon.output()).toContain("'kumod=info,kumo_lua=debug' applied: level debug");
    await sterna(http, 'set-log-filter', 'kumod=warn');
    // back at warn: this change's own info line is not written
    await sterna(http, 'set-log-filter', 'error');
    expect(applied()).toBe(1);

    const bad = await runSterna(['set-log-filter', 'kumod=loud', '--endpoint', http]);
    expect(bad.code).toBe(1);
    expect(bad.output.trim().split('\n')).toHaveLength(1);
    expect(bad.output).toContain("400 'kumod=loud': 'loud' is not a level");
  });
});
