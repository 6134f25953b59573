// Suite 6, access: nothing let in. Relaying only for relay_hosts (checked from a second loopback
// address), admin and metrics only for trusted hosts, request bodies over the limit refused,
// maildir paths that never leave their base, and no secret in logs or diagnostics.

import { readdir, readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { type SmtpSink, selfSignedPair, startSmtpSink } from '@sterna/protocol-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLogRecords } from '../../src/logs/index.js';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { eventually, sendMail, testMessage } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';
import { report } from './support.js';

const PASSWORD = 'Relay-Secret-9f4c2e71';
let daemon: DaemonProcess;
let dir: PolicyDir;
let sink: SmtpSink;
let keyBody: string;

/** An HTTP request from a chosen loopback source address. */
function call(
  method: string,
  url: string,
  from: string,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method, localAddress: from, headers: body ? { 'content-type': 'application/json' } : {} },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  sink = await startSmtpSink({ tls: false });
  const { key, cert } = await selfSignedPair();
  keyBody = key.split('\n')[1]!; // a line of the private key's base64
  dir = await writePolicy(
    `
kumo.on('get_egress_path_config', function()
  return kumo.make_egress_path {
    prohibited_hosts = {}, enable_tls = 'Disabled',
    smtp_auth_plain_username = 'relay', smtp_auth_plain_password = { key_data = '${PASSWORD}' },
    allow_smtp_auth_plain_without_tls = true,
  }
end)
kumo.on('get_queue_config', function(domain)
  if domain == 'files.example' then
    return kumo.make_queue_config { protocol = { maildir_path = DIR .. '/maildirs/{{ local_part }}' } }
  end
  return kumo.make_queue_config { retry_interval = '1h', protocol = { smtp = { mx_list = { '127.0.0.1:${sink.port}' } } } }
end)
`,
    '',
    `tls_private_key = { key_data = ${JSON.stringify(key)} }, tls_certificate = { key_data = ${JSON.stringify(cert)} }`,
  );
  daemon = await startDaemon(dir.policy);
}, 180_000);
afterAll(async () => {
  await daemon?.kill();
  await sink?.close();
  await dir?.cleanup();
});

describe('access', () => {
  it('relays for 127.0.0.1 (relay_hosts) and refuses 127.0.0.2', async () => {
    const ok = await sendMail(
      daemon.smtp,
      { from: 'a@example.org', to: ['user@files.example'] },
      testMessage('inside'),
    );
    expect(ok.response).toMatch(/^250 /);
    await expect(
      sendMail(
        daemon.smtp,
        { from: 'a@example.org', to: ['user@files.example'] },
        testMessage('outside'),
        { localAddress: '127.0.0.2' },
      ),
    ).rejects.toMatchObject({ responseCode: 550 });
  });

  it('keeps admin and metrics to trusted hosts, and refuses bodies over the limit', async () => {
    const base = daemon.http!;
    const trusted = await call('GET', `${base}/metrics`, '127.0.0.1');
    const untrusted = await call('GET', `${base}/metrics`, '127.0.0.2');
    const adminUntrusted = await call(
      'POST',
      `${base}/api/admin/bounce/v1`,
      '127.0.0.2',
      JSON.stringify({ reason: 'x', domain: 'a.example' }),
    );
    const injectUntrusted = await call(
      'POST',
      `${base}/api/inject/v1`,
      '127.0.0.2',
      JSON.stringify({
        envelope_sender: 'a@b.c',
        content: 'x',
        recipients: [{ email: 'u@files.example' }],
      }),
    );
    const tooBig = await call(
      'POST',
      `${base}/api/inject/v1`,
      '127.0.0.1',
      JSON.stringify({
        envelope_sender: 'a@b.c',
        content: 'x'.repeat(3 * 1024 * 1024),
        recipients: [{ email: 'u@files.example' }],
      }),
    );
    expect(trusted.status).toBe(200);
    expect([401, 403]).toContain(untrusted.status);
    expect([401, 403]).toContain(adminUntrusted.status);
    expect(injectUntrusted.status).toBe(401);
    expect(tooBig.status).toBe(413);
    report('access/http', {
      metrics: `${trusted.status} trusted, ${untrusted.status} untrusted`,
      admin: adminUntrusted.status,
      inject: injectUntrusted.status,
      'body over 2 MiB': tooBig.status,
    });
  });

  it('never lets a recipient address write a maildir file outside its base', async () => {
    const hostile = ['../../escape@files.example', '..@files.example', 'a/../../b@files.example'];
    const replies: string[] = [];
    // SMTP refuses such addresses outright (501); HTTP injection takes any local@domain.
    for (const rcpt of hostile) {
      replies.push(
        await sendMail(
          daemon.smtp,
          { from: 'a@example.org', to: [rcpt] },
          testMessage('hostile'),
        ).then(
          (r) => r.response,
          (e: Error) => e.message,
        ),
      );
    }
    const injected = await call(
      'POST',
      `${daemon.http}/api/inject/v1`,
      '127.0.0.1',
      JSON.stringify({
        envelope_sender: 'a@example.org',
        content: 'Subject: hostile\r\n\r\nx\r\n',
        recipients: hostile.map((email) => ({ email })),
      }),
    );
    replies.push(`HTTP ${injected.status} ${injected.text}`);
    const accepted = (JSON.parse(injected.text) as { success_count?: number }).success_count ?? 0;
    const settled = async () => {
      const records = await readLogRecords(dir.logs);
      return records.filter(
        (r) =>
          r.queue === 'files.example' && r.reception_protocol === 'HTTP' && r.type !== 'Reception',
      ).length;
    };
    await eventually(async () => ((await settled()) >= accepted ? true : undefined));
    const outside = (await readdir(dir.dir)).filter((n) => n === 'escape' || n === 'b');
    const inBase = await readdir(join(dir.dir, 'maildirs')).catch(() => [] as string[]);
    report('access/maildir', {
      tried: hostile.length,
      replies,
      'entries created outside the base': outside.length,
      'maildirs created': inBase,
    });
    expect(outside).toEqual([]);
    expect(inBase.every((n) => !n.includes('..') && !n.includes('/'))).toBe(true);
  });

  it('writes no secret into logs or diagnostics', async () => {
    // A relay attempt that uses the AUTH password (the sink offers no AUTH, so it fails).
    await sendMail(
      daemon.smtp,
      { from: 'a@example.org', to: ['user@relay.example'] },
      testMessage('auth'),
    );
    await eventually(async () =>
      (await readLogRecords(dir.logs)).some(
        (r) => r.queue === 'relay.example' && r.type !== 'Reception',
      )
        ? true
        : undefined,
    );
    const records = JSON.stringify(await readLogRecords(dir.logs));
    const policyText = await readFile(dir.policy, 'utf8');
    expect(policyText).toContain(PASSWORD); // the secret is really configured
    const leaking = (await readLogRecords(dir.logs))
      .filter((r) => JSON.stringify(r).includes(PASSWORD))
      .map((r) => [r.type, r.response]);
    expect(leaking).toEqual([]);
    expect(records).not.toContain(PASSWORD);
    expect(records).not.toContain(keyBody);
    expect(daemon.output()).not.toContain(PASSWORD);
    expect(daemon.output()).not.toContain(keyBody);
    report('access/secrets', {
      'log records checked': (await readLogRecords(dir.logs)).length,
      'password found': false,
      'private key found': false,
    });
  });
});
