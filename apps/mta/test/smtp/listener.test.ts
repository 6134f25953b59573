import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLogRecords } from '../../src/logs/index.js';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { eventually, maildirMessages, sendMail, testMessage } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';

const POLICY = `
kumo.on('smtp_server_mail_from', function(sender, conn_meta)
  if tostring(sender):find('^blocked@') then
    kumo.reject(550, '5.7.1 sender blocked by policy')
  end
end)
kumo.on('smtp_server_rcpt_to', function(recipient, conn_meta)
  if tostring(recipient):find('^nobody@') then
    kumo.reject(550, '5.1.1 no such user')
  end
end)
kumo.on('smtp_server_message_received', function(msg, conn_meta)
  if msg:get_first_named_header_value('subject') == 'reject me' then
    kumo.reject(554, '5.7.0 content refused')
  end
  msg:set_meta('tenant', 'acme')
  msg:set_meta('x_ehlo', conn_meta.ehlo_domain)
end)
kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  return kumo.make_queue_config { protocol = { maildir_path = DIR .. '/maildir/' .. (tenant or 'none') } }
end)
`;

let daemon: DaemonProcess;
let dir: PolicyDir;
beforeAll(async () => {
  dir = await writePolicy(POLICY, '', "max_recipients_per_message = 2, banner = 'Sterna test'");
  daemon = await startDaemon(dir.policy);
}, 180_000);
afterAll(async () => {
  await daemon.kill();
  await dir.cleanup();
});

/** Reads the first reply line on a raw connection. */
function greeting(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(daemon.smtp.port, daemon.smtp.host);
    socket.once('data', (chunk) => {
      resolve(chunk.toString().trim());
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

/** Sends each chunk after the previous reply; resolves with every reply line. */
function rawSession(chunks: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(daemon.smtp.port, daemon.smtp.host);
    const lines: string[] = [];
    let buffer = '';
    let sent = 0;
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      // A reply is complete at a line whose fourth character is a space.
      if (!/(^|\r\n)\d{3} [^\r\n]*\r\n$/.test(buffer)) return;
      lines.push(...buffer.trim().split('\r\n'));
      buffer = '';
      if (sent < chunks.length) socket.write(chunks[sent++]!);
    });
    socket.once('close', () => resolve(lines));
    socket.once('error', reject);
    setTimeout(() => socket.destroy(), 10_000).unref();
  });
}

describe('the SMTP listener', { timeout: 60_000 }, () => {
  it('greets at once with its hostname and banner, and answers unknown commands 502 5.5.1', async () => {
    // KumoMTA's form: 220 <hostname> <banner>.
    expect(await greeting()).toBe('220 sterna.test Sterna test');
    const lines = await rawSession(['FROB\r\n', 'QUIT\r\n']);
    expect(lines).toEqual([
      '220 sterna.test Sterna test',
      '502 5.5.1 Command unimplemented',
      expect.stringMatching(/^221 /),
    ]);
  });

  it('turns kumo.reject in mail_from, rcpt_to and message_received into the reply, logged as Rejection', async () => {
    const from = sendMail(
      daemon.smtp,
      { from: 'blocked@example.org', to: ['a@example.com'] },
      testMessage('x'),
    );
    await expect(from).rejects.toMatchObject({
      responseCode: 550,
      response: '550 5.7.1 sender blocked by policy',
    });
    const rcpt = await sendMail(
      daemon.smtp,
      { from: 'ok@example.org', to: ['nobody@example.com', 'someone@example.com'] },
      testMessage('rcpt'),
    );
    expect(rcpt.rejected).toEqual(['nobody@example.com']);
    expect(rcpt.accepted).toEqual(['someone@example.com']);
    const data = sendMail(
      daemon.smtp,
      { from: 'ok@example.org', to: ['a@example.com'] },
      testMessage('reject me'),
    );
    await expect(data).rejects.toMatchObject({
      responseCode: 554,
      response: '554 5.7.0 content refused',
    });
    const rejections = await eventually(async () => {
      const found = (await readLogRecords(dir.logs)).filter((r) => r.type === 'Rejection');
      return found.length >= 3 ? found : undefined;
    });
    expect(rejections.map((r) => [r.response.code, r.response.command])).toEqual([
      [550, 'MAIL FROM:<blocked@example.org>'],
      [550, 'RCPT TO:<nobody@example.com>'],
      [554, 'DATA'],
    ]);
  });

  it('lets message_received set meta that picks the queue', async () => {
    await sendMail(
      daemon.smtp,
      { from: 'ok@example.org', to: ['meta@example.com'] },
      testMessage('tenant'),
    );
    const files = await eventually(async () => {
      const found = (await maildirMessages(`${dir.maildir}/acme`)).filter((f) =>
        f.includes('Subject: tenant\r\n'),
      );
      return found.length > 0 ? found : undefined;
    });
    expect(files).toHaveLength(1);
    const reception = (await readLogRecords(dir.logs)).find(
      (r) => r.type === 'Reception' && r.queue === 'acme@example.com',
    );
    expect(reception).toBeDefined();
  });

  it('refuses recipients past max_recipients_per_message with 452 4.5.3', async () => {
    const reply = await sendMail(
      daemon.smtp,
      { from: 'ok@example.org', to: ['a@example.com', 'b@example.com', 'c@example.com'] },
      testMessage('many'),
    );
    expect(reply.accepted).toEqual(['a@example.com', 'b@example.com']);
    expect(reply.rejected).toEqual(['c@example.com']);
    expect(reply.response).toMatch(/^250 OK ids=[0-9a-f]{32} [0-9a-f]{32}$/);
  });

  it('offers STARTTLS with a certificate it made itself', async () => {
    const reply = await sendMail(
      daemon.smtp,
      { from: 'ok@example.org', to: ['tls@example.com'] },
      testMessage('tls'),
      {
        ignoreTLS: false,
        requireTLS: true,
        tls: { rejectUnauthorized: false },
      },
    );
    expect(reply.response).toMatch(/^250 OK ids=/);
    const files = await eventually(async () => {
      const found = (await maildirMessages(`${dir.maildir}/acme`)).filter((f) =>
        f.includes('Subject: tls'),
      );
      return found.length > 0 ? found : undefined;
    });
    // KumoMTA's `with ESMTPS (<protocol>:<cipher>)`.
    expect(files[0]).toMatch(/with ESMTPS \(TLSv1\.[23]:TLS_[A-Z0-9_]+\) id /);
  });

  it('refuses bare LF line endings by default (552 5.6.0)', async () => {
    // Client libraries repair line endings, so speak SMTP by hand.
    const replies = await rawSession([
      'EHLO raw.test\r\n',
      'MAIL FROM:<ok@example.org>\r\n',
      'RCPT TO:<a@example.com>\r\n',
      'DATA\r\n',
      'Subject: bare\nFrom: a@example.org\n\nbody with bare LF\n\r\n.\r\n',
      'QUIT\r\n',
    ]);
    expect(replies).toContain('552 5.6.0 message data must use CRLF for line endings');
  });
});
