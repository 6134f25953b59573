import { afterEach, describe, expect, it } from 'vitest';
import { readLogRecords } from '../../src/logs/index.js';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { eventually, maildirMessages } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';

let daemon: DaemonProcess | undefined;
let dir: PolicyDir | undefined;
afterEach(async () => {
  await daemon?.kill();
  daemon = undefined;
  await dir?.cleanup();
  dir = undefined;
});

const POLICY = `
kumo.on('get_queue_config', function(domain)
  if domain == 'held.example.com' then
    return kumo.make_queue_config { retry_interval = '1h', protocol = { not_installed = {} } }
  end
  return kumo.make_queue_config { protocol = { maildir_path = DIR .. '/maildir' } }
end)
kumo.on('http_message_generated', function(msg, auth)
  msg:set_meta('x_source', 'api')
end)
`;

function post(base: string, path: string, body: unknown) {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('the daemon over HTTP', { timeout: 90_000 }, () => {
  it('injects one message per recipient with substitutions, delivered into a maildir', async () => {
    dir = await writePolicy(POLICY);
    daemon = await startDaemon(dir.policy);
    const response = await post(daemon.http!, '/api/inject/v1', {
      envelope_sender: 'news@example.org',
      content: 'Subject: hello {{ name }}\n\nDear {{ name }}, your address is {{ email }}.\n',
      recipients: [
        { email: 'ada@example.com', name: 'Ada' },
        { email: 'bob@example.com', name: 'Bob' },
      ],
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      success_count: 2,
      fail_count: 0,
      failed_recipients: [],
      errors: [],
    });
    const files = await eventually(async () => {
      const found = await maildirMessages(dir!.maildir);
      return found.length === 2 ? found : undefined;
    });
    const ada = files.find((f) => f.includes('Subject: hello Ada'))!;
    expect(ada).toContain('Dear Ada, your address is ada@example.com.\r\n');
    expect(files.find((f) => f.includes('Subject: hello Bob'))).toContain('bob@example.com');
    await daemon.stop();
    daemon = undefined;
    const receptions = (await readLogRecords(dir.logs)).filter((r) => r.type === 'Reception');
    expect(receptions).toHaveLength(2);
    expect(receptions[0]).toMatchObject({
      reception_protocol: 'HTTP',
      sender: 'news@example.org',
      meta: { x_source: 'api' },
    });
  });

  it('bounces a waiting message through the admin API, and reports metrics', async () => {
    dir = await writePolicy(POLICY);
    daemon = await startDaemon(dir.policy);
    await post(daemon.http!, '/api/inject/v1', {
      envelope_sender: 'a@example.org',
      content: 'Subject: held\r\n\r\nwaiting\r\n',
      recipients: [{ email: 'user@held.example.com' }],
    });
    // Wait for the first (failed) attempt so the message sits in the scheduled queue.
    await eventually(async () =>
      (await readLogRecords(dir!.logs)).some((r) => r.type === 'TransientFailure')
        ? true
        : undefined,
    );
    const bounce = await post(daemon.http!, '/api/admin/bounce/v1', {
      domain: 'held.example.com',
      reason: 'operator says no',
    });
    expect(bounce.status).toBe(200);
    expect(await bounce.json()).toMatchObject({
      total_bounced: 1,
      bounced: { 'held.example.com': 1 },
    });
    const metrics = await fetch(`${daemon.http}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/total_messages_received\S* 1/);
    await daemon.stop();
    daemon = undefined;
    const admin = (await readLogRecords(dir.logs)).find((r) => r.type === 'AdminBounce')!;
    expect(admin).toMatchObject({
      site: 'localhost',
      response: { code: 551, enhanced_code: { class: 5, subject: 7, detail: 1 } },
    });
    expect(admin.response.content).toBe('Administrator bounced with reason: operator says no');
  });
});
