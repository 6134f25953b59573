import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLogRecords } from '../../src/logs/index.js';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { eventually, maildirMessages, sendMail, testMessage } from '../support/mail.js';

// A listener that relays for nobody by address (relay_hosts names no loopback address), so the
// test client on 127.0.0.1 may relay only as the policy allows: after SMTP AUTH, as KumoMTA's
// docs show it (get_listener_domain reading conn_meta:get_meta 'authz_id'), or from a sender
// domain whose relay_from lists it.
const policy = (dir: string) => `
local kumo = require 'kumo'
local DIR = ${JSON.stringify(dir)}
kumo.on('init', function()
  kumo.start_esmtp_listener { listen = '127.0.0.1:0', relay_hosts = { '10.255.255.1' }, hostname = 'mx.sterna-auth.test' }
  kumo.define_spool { name = 'data', path = DIR .. '/spool/data' }
  kumo.define_spool { name = 'meta', path = DIR .. '/spool/meta' }
  kumo.configure_local_logs { log_dir = DIR .. '/logs', max_segment_duration = '1s', meta = { 'x_*', 'authz_id', 'authn_id', 'tls_*' } }
end)
kumo.on('smtp_server_auth_plain', function(authz, authc, password, conn_meta)
  if password == 'explode' then error('the password database is down') end
  return (authc == 'daniel' or authc == 'scott') and password == 'tiger'
    and conn_meta:get_meta 'received_from' ~= nil
end)
kumo.on('get_listener_domain', function(domain, listener, conn_meta)
  if domain == 'send.example' then
    return kumo.make_listener_domain { relay_from = { '127.0.0.1' } }
  end
  if domain == 'auth-send.example' then
    return kumo.make_listener_domain { relay_from_authz = { 'scott' } }
  end
  if conn_meta:get_meta 'authz_id' == 'daniel' then
    return kumo.make_listener_domain { relay_to = true }
  end
end)
kumo.on('smtp_server_mail_from', function(sender, conn_meta)
  -- KumoMTA passes an EnvelopeAddress
  if sender.domain == 'refused.example' then kumo.reject(550, '5.7.1 not from ' .. sender.domain) end
end)
kumo.on('smtp_server_message_received', function(msg, conn_meta)
  msg:set_meta('x_authz_seen', conn_meta:get_meta 'authz_id' or 'none')
  msg:set_meta('x_cipher_seen', conn_meta:get_meta 'tls_cipher' or 'none')
end)
kumo.on('get_queue_config', function()
  return kumo.make_queue_config { protocol = { maildir_path = DIR .. '/maildir' } }
end)
`;

let daemon: DaemonProcess;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sterna-auth-'));
  await writeFile(join(dir, 'init.lua'), policy(dir));
  daemon = await startDaemon(join(dir, 'init.lua'));
}, 180_000);
afterAll(async () => {
  await daemon?.kill();
  await rm(dir, { recursive: true, force: true });
});

const tls = { ignoreTLS: false, requireTLS: true, tls: { rejectUnauthorized: false } } as const;

/** Reads replies on `socket` until one is complete (its last line has a space after the code). */
function reply(socket: Socket | TLSSocket): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      if (!/(^|\r\n)\d{3} [^\r\n]*\r\n$/.test(buffer)) return;
      socket.off('data', onData);
      socket.off('error', reject);
      resolve(buffer.trimEnd().split('\r\n'));
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

async function command(socket: Socket | TLSSocket, line: string): Promise<string[]> {
  const answer = reply(socket);
  socket.write(`${line}\r\n`);
  return answer;
}

/** A raw session up to EHLO in clear; `starttls()` upgrades it and says EHLO again. */
async function rawSession() {
  const plain = connect(daemon.smtp.port, daemon.smtp.host);
  await reply(plain); // greeting
  const clear = await command(plain, 'EHLO client.test');
  return {
    plain,
    clear,
    async starttls(): Promise<{ secure: TLSSocket; ehlo: string[] }> {
      expect(await command(plain, 'STARTTLS')).toEqual([expect.stringMatching(/^220 /)]);
      const secure = tlsConnect({ socket: plain, rejectUnauthorized: false });
      await new Promise<void>((resolve, reject) => {
        secure.once('secureConnect', resolve);
        secure.once('error', reject);
      });
      return { secure, ehlo: await command(secure, 'EHLO client.test') };
    },
  };
}

const plainToken = (authz: string, authc: string, password: string) =>
  Buffer.from(`${authz}\0${authc}\0${password}`).toString('base64');

describe('SMTP AUTH and TLS on reception', { timeout: 60_000 }, () => {
  it('offers AUTH PLAIN only after STARTTLS, and refuses it in clear with 524 5.7.11', async () => {
    const session = await rawSession();
    expect(session.clear.some((l) => /AUTH/.test(l))).toBe(false);
    expect(session.clear).toContain('250-STARTTLS');
    expect(await command(session.plain, `AUTH PLAIN ${plainToken('', 'daniel', 'tiger')}`)).toEqual(
      ['524 5.7.11 AUTH PLAIN requires an encrypted channel'],
    );
    const { secure, ehlo } = await session.starttls();
    expect(ehlo.some((l) => /^250[ -]AUTH PLAIN$/.test(l))).toBe(true);
    expect(ehlo.some((l) => /STARTTLS/.test(l))).toBe(false);
    expect(await command(secure, 'AUTH LOGIN')).toEqual(['504 5.5.4 AUTH LOGIN not supported']);
    // The challenge form: AUTH PLAIN, 334, then the credentials on their own line.
    expect(await command(secure, 'AUTH PLAIN')).toEqual([expect.stringMatching(/^334 ?$/)]);
    expect(await command(secure, plainToken('', 'daniel', 'tiger'))).toEqual([
      '235 2.7.0 AUTH OK!',
    ]);
    expect(await command(secure, `AUTH PLAIN ${plainToken('', 'daniel', 'tiger')}`)).toEqual([
      "503 5.5.1 AUTH me once, can't get authed again!",
    ]);
    secure.destroy();
  });

  it('a client outside relay_hosts relays after AUTH; the identity reaches the events, meta and log', async () => {
    const refused = sendMail(
      daemon.smtp,
      { from: 'app@example.org', to: ['someone@elsewhere.example'] },
      testMessage('anonymous'),
      tls,
    );
    await expect(refused).rejects.toMatchObject({
      responseCode: 550,
      response: expect.stringMatching(/^550 5\.7\.1 relaying not permitted for 127\.0\.0\.1:\d+$/),
    });

    const sent = await sendMail(
      daemon.smtp,
      { from: 'app@example.org', to: ['someone@elsewhere.example'] },
      testMessage('authenticated'),
      { ...tls, auth: { user: 'daniel', pass: 'tiger' } },
    );
    expect(sent.response).toMatch(/^250 OK ids=[0-9a-f]{32}$/);
    const [file] = await eventually(async () => {
      const found = (await maildirMessages(join(dir, 'maildir'))).filter((f) =>
        f.includes('Subject: authenticated'),
      );
      return found.length > 0 ? found : undefined;
    });
    expect(file).toMatch(/with ESMTPSA \(TLSv1\.[23]:TLS_[A-Z0-9_]+\) id [0-9a-f]{32} for/);

    const reception = await eventually(async () =>
      (await readLogRecords(join(dir, 'logs'))).find(
        (r) => r.type === 'Reception' && r.recipient === 'someone@elsewhere.example',
      ),
    );
    // KumoMTA's names: authz_id / authn_id in the meta, the TLS facts in meta and record.
    expect(reception.meta).toMatchObject({
      authz_id: 'daniel',
      authn_id: 'daniel',
      x_authz_seen: 'daniel',
      x_cipher_seen: reception.tls_cipher,
      tls_protocol_version: reception.tls_protocol_version,
    });
    expect(reception.tls_cipher).toMatch(/^TLS_[A-Z0-9_]+$/);
    expect(reception.tls_protocol_version).toMatch(/^TLSv1\.[23]$/);
    // The test client shows no certificate of its own.
    expect(reception.tls_peer_subject_name).toEqual([]);
  });

  it('a message received in clear has no TLS fields', async () => {
    await sendMail(
      daemon.smtp,
      { from: 'someone@send.example', to: ['clear@elsewhere.example'] },
      testMessage('clear'),
    );
    const reception = await eventually(async () =>
      (await readLogRecords(join(dir, 'logs'))).find(
        (r) => r.type === 'Reception' && r.recipient === 'clear@elsewhere.example',
      ),
    );
    expect(reception).not.toHaveProperty('tls_cipher');
    expect(reception).not.toHaveProperty('tls_protocol_version');
    expect(reception).not.toHaveProperty('tls_peer_subject_name');
    expect(reception.meta).toMatchObject({ x_authz_seen: 'none', x_cipher_seen: 'none' });
  });

  it('refuses bad credentials with 535 5.7.8, logged without the credentials', async () => {
    const refused = sendMail(
      daemon.smtp,
      { from: 'app@example.org', to: ['someone@elsewhere.example'] },
      testMessage('bad password'),
      { ...tls, auth: { user: 'daniel', pass: 'lion' } },
    );
    await expect(refused).rejects.toMatchObject({
      responseCode: 535,
      response: '535 5.7.8 AUTH invalid',
    });
    const rejection = await eventually(async () =>
      (await readLogRecords(join(dir, 'logs'))).find(
        (r) => r.type === 'Rejection' && r.response.code === 535,
      ),
    );
    expect(rejection.response.command).toBe('AUTH PLAIN');
    expect(JSON.stringify(rejection)).not.toContain(plainToken('', 'daniel', 'lion'));
  });

  it('answers a failing handler with a temporary 451, and the session goes on', async () => {
    const { secure } = await (await rawSession()).starttls();
    expect(await command(secure, `AUTH PLAIN ${plainToken('', 'daniel', 'explode')}`)).toEqual([
      '451 4.3.0 technical difficulties: smtp_server_auth_plain failed',
    ]);
    expect(await command(secure, `AUTH PLAIN ${plainToken('daniel', 'daniel', 'tiger')}`)).toEqual([
      '235 2.7.0 AUTH OK!',
    ]);
    expect(await command(secure, 'AUTH PLAIN not-base64!')).toEqual([
      "503 5.5.1 AUTH me once, can't get authed again!",
    ]);
    secure.destroy();
  });

  it('refuses malformed PLAIN responses with KumoMTA’s 501 texts', async () => {
    const { secure } = await (await rawSession()).starttls();
    expect(await command(secure, 'AUTH PLAIN not-base64!')).toEqual([
      '501 5.5.2 Invalid base64 response',
    ]);
    const twoFields = Buffer.from('daniel\0tiger').toString('base64');
    expect(await command(secure, `AUTH PLAIN ${twoFields}`)).toEqual([
      '501 5.5.2 Invalid decoded PLAIN response',
    ]);
    expect(await command(secure, 'AUTH PLAIN')).toEqual([expect.stringMatching(/^334 ?$/)]);
    expect(await command(secure, '*')).toEqual(['501 5.5.0 AUTH cancelled by client']);
    expect(await command(secure, 'MAIL FROM:<app@example.org>')).toEqual([
      expect.stringMatching(/^250 /),
    ]);
    expect(await command(secure, `AUTH PLAIN ${plainToken('', 'daniel', 'tiger')}`)).toEqual([
      '503 5.5.1 AUTH not permitted inside a transaction',
    ]);
    secure.destroy();
  });

  it('relays for a sender domain whose relay_from lists the client, without AUTH', async () => {
    const sent = await sendMail(
      daemon.smtp,
      { from: 'news@send.example', to: ['reader@elsewhere.example'] },
      testMessage('relay from'),
    );
    expect(sent.response).toMatch(/^250 OK ids=/);
  });

  it('relays for a sender domain whose relay_from_authz names the authenticated identity', async () => {
    // relay_to opens only for daniel in this policy, so scott relays only as the sender
    // domain's relay_from_authz allows: not anonymously, not for another sender domain.
    const anonymous = sendMail(
      daemon.smtp,
      { from: 'news@auth-send.example', to: ['reader@elsewhere.example'] },
      testMessage('relay from authz, anonymous'),
      tls,
    );
    await expect(anonymous).rejects.toMatchObject({ responseCode: 550 });
    const otherDomain = sendMail(
      daemon.smtp,
      { from: 'news@example.org', to: ['reader@elsewhere.example'] },
      testMessage('relay from authz, other domain'),
      { ...tls, auth: { user: 'scott', pass: 'tiger' } },
    );
    await expect(otherDomain).rejects.toMatchObject({ responseCode: 550 });
    const sent = await sendMail(
      daemon.smtp,
      { from: 'news@auth-send.example', to: ['reader@elsewhere.example'] },
      testMessage('relay from authz'),
      { ...tls, auth: { user: 'scott', pass: 'tiger' } },
    );
    expect(sent.response).toMatch(/^250 OK ids=/);
  });

  it('gives smtp_server_mail_from the sender as an EnvelopeAddress', async () => {
    const refused = sendMail(
      daemon.smtp,
      { from: 'someone@refused.example', to: ['reader@elsewhere.example'] },
      testMessage('envelope address'),
    );
    await expect(refused).rejects.toMatchObject({
      response: '550 5.7.1 not from refused.example',
    });
  });

  it('offers a self-signed certificate naming the listener’s hostname', async () => {
    const { secure } = await (await rawSession()).starttls();
    const cert = secure.getPeerCertificate();
    expect(cert.subject.CN).toBe('mx.sterna-auth.test');
    expect(cert.subjectaltname).toBe('DNS:mx.sterna-auth.test');
    secure.destroy();
  });
});
