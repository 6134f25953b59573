import { writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DaemonProcess, runSterna, startDaemon } from '../support/daemon-process.js';
import { eventually, maildirMessages, sendMail, testMessage } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';

// relay_hosts = { '::/0' } and trusted_hosts = { '::/0' } open the daemon to IPv6 peers only:
// node's BlockList let '::/0' match every IPv4 address, an open relay and open metrics.

/** Why IPv6 loopback cannot be used here, or undefined when it can. */
function ipv6Missing(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      resolve(`this machine cannot listen on ::1 (${error.code ?? error.message})`),
    );
    server.listen(0, '::1', () => server.close(() => resolve(undefined)));
  });
}
const noIpv6 = await ipv6Missing();
if (noIpv6) console.warn(`cidr-access: skipping the ::1 half: ${noIpv6}`);

const listener = (listen: string) =>
  `kumo.start_esmtp_listener { listen = '${listen}', relay_hosts = { '::/0' }, hostname = 'sterna.test' }`;
const httpListener = (listen: string) =>
  `kumo.start_http_listener { listen = '${listen}', trusted_hosts = { '::/0' } }`;

// Listeners in this order, SMTP and HTTP alike: 127.0.0.1, [::1] and dual-stack [::].
const POLICY = (dir: string) => `
local kumo = require 'kumo'
local DIR = ${JSON.stringify(dir)}
kumo.on('init', function()
  ${listener('127.0.0.1:0')}
  ${noIpv6 ? '' : listener('[::1]:0')}
  ${noIpv6 ? '' : listener('[::]:0')}
  ${httpListener('127.0.0.1:0')}
  ${noIpv6 ? '' : httpListener('[::1]:0')}
  ${noIpv6 ? '' : httpListener('[::]:0')}
  kumo.define_spool { name = 'data', path = DIR .. '/spool/data' }
  kumo.define_spool { name = 'meta', path = DIR .. '/spool/meta' }
  kumo.configure_local_logs { log_dir = DIR .. '/logs' }
end)
kumo.on('get_queue_config', function()
  return kumo.make_queue_config { protocol = { maildir_path = DIR .. '/maildir' } }
end)
`;

/** `host:port` pairs the daemon announced for `kind` listeners, in policy order. */
function announced(output: string, kind: 'smtp' | 'http'): { host: string; port: number }[] {
  const pattern = new RegExp(`${kind} listener on \\[?([^\\]\\s]+?)\\]?:(\\d+)\\n`, 'g');
  return [...output.matchAll(pattern)].map((m) => ({ host: m[1]!, port: Number(m[2]) }));
}

/**
 * One SMTP transaction up to RCPT, from `host`: the last line of each reply (greeting, EHLO,
 * MAIL, RCPT, QUIT) and the client's own port.
 */
function relayAttempt(server: { port: number }, host: string) {
  return new Promise<{ replies: string[]; localPort: number }>((resolve, reject) => {
    const socket = connect({ host, port: server.port });
    let localPort = 0;
    socket.once('connect', () => {
      localPort = socket.localPort ?? 0;
    });
    const chunks = ['EHLO client.test\r\n', 'MAIL FROM:<a@example.org>\r\n'];
    chunks.push('RCPT TO:<b@example.com>\r\n', 'QUIT\r\n');
    const replies: string[] = [];
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      if (!/(^|\r\n)\d{3} [^\r\n]*\r\n$/.test(buffer)) return;
      replies.push(buffer.trim().split('\r\n').at(-1)!);
      buffer = '';
      const next = chunks.shift();
      if (next) socket.write(next);
    });
    socket.once('close', () => resolve({ replies, localPort }));
    socket.once('error', reject);
    setTimeout(() => socket.destroy(), 10_000).unref();
  });
}

let daemon: DaemonProcess;
let dir: PolicyDir;
let smtp: { host: string; port: number }[];
let http: { host: string; port: number }[];
beforeAll(async () => {
  dir = await writePolicy('');
  await writeFile(dir.policy, POLICY(dir.dir));
  daemon = await startDaemon(dir.policy);
  smtp = announced(daemon.output(), 'smtp');
  http = announced(daemon.output(), 'http');
  expect(smtp).toHaveLength(noIpv6 ? 1 : 3);
  expect(http).toHaveLength(noIpv6 ? 1 : 3);
}, 60_000);
afterAll(async () => {
  await daemon?.kill();
  await dir?.cleanup();
});

describe("relay_hosts = { '::/0' }", { timeout: 60_000 }, () => {
  it('refuses to relay for a client on 127.0.0.1', async () => {
    const { replies, localPort } = await relayAttempt(smtp[0]!, '127.0.0.1');
    expect(replies[2]).toMatch(/^250 /);
    expect(replies[3]).toBe(`550 5.7.1 relaying not permitted for 127.0.0.1:${localPort}`);
  });

  it.skipIf(noIpv6 !== undefined)(
    'refuses 127.0.0.1 on a dual-stack listener too, where the socket sees ::ffff:127.0.0.1',
    async () => {
      const { replies, localPort } = await relayAttempt(smtp[2]!, '127.0.0.1');
      // smtp-server reports the peer as 127.0.0.1; the socket itself has ::ffff:127.0.0.1.
      expect(replies[3]).toMatch(
        new RegExp(
          `^550 5\\.7\\.1 relaying not permitted for (::ffff:)?127\\.0\\.0\\.1:${localPort}$`,
        ),
      );
    },
  );

  it.skipIf(noIpv6 !== undefined)('relays for a client on ::1', async () => {
    const { replies } = await relayAttempt(smtp[1]!, '::1');
    expect(replies[3]).toMatch(/^250 /);
    const sent = await sendMail(
      { host: '::1', port: smtp[1]!.port },
      { from: 'a@example.org', to: ['b@example.com'] },
      testMessage('over ipv6'),
    );
    expect(sent.response).toMatch(/^250 OK ids=/);
    const files = await eventually(async () => {
      const found = (await maildirMessages(dir.maildir)).filter((f) =>
        f.includes('Subject: over ipv6'),
      );
      return found.length > 0 ? found : undefined;
    });
    expect(files).toHaveLength(1);
  });
});

describe("trusted_hosts = { '::/0' }", { timeout: 60_000 }, () => {
  it('answers /metrics from 127.0.0.1 with 403', async () => {
    const res = await fetch(`http://127.0.0.1:${http[0]!.port}/metrics`);
    expect(res.status).toBe(403);
    expect(await res.text()).toBe('forbidden: only trusted_hosts may use this endpoint');
    const json = await fetch(`http://127.0.0.1:${http[0]!.port}/metrics.json`);
    expect(json.status).toBe(403);
    const admin = await fetch(`http://127.0.0.1:${http[0]!.port}/api/admin/bounce/v1`);
    expect(admin.status).toBe(403);
  });

  it.skipIf(noIpv6 !== undefined)(
    'answers 403 on a dual-stack listener too, where 127.0.0.1 arrives as ::ffff:127.0.0.1',
    async () => {
      const res = await fetch(`http://127.0.0.1:${http[2]!.port}/metrics`);
      expect(res.status).toBe(403);
      const v6 = await fetch(`http://[::1]:${http[2]!.port}/metrics`);
      expect(v6.status).toBe(200);
    },
  );

  it.skipIf(noIpv6 !== undefined)('answers /metrics from ::1 with 200', async () => {
    const res = await fetch(`http://[::1]:${http[1]!.port}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('total_messages_delivered');
  });
});

describe('--validate with CIDRs that are not strict', { timeout: 60_000 }, () => {
  async function validate(init: string) {
    const file = `${dir.dir}/validate.lua`;
    await writeFile(
      file,
      `local kumo = require 'kumo'
kumo.on('init', function()
  ${init}
  kumo.define_spool { name = 'data', path = ${JSON.stringify(`${dir.dir}/v-spool`)} }
end)
`,
    );
    return runSterna(['--validate', '--policy', file]);
  }

  it('names relay_hosts and the entry, with the block that was meant', async () => {
    const bad = await validate(
      "kumo.start_esmtp_listener { listen = '127.0.0.1:0', relay_hosts = { '127.0.0.1', '10.0.0.1/8' } }",
    );
    expect(bad.code).toBe(1);
    expect(bad.output).toContain(
      "relay_hosts[2]: '10.0.0.1/8' is not a valid CIDR block: the address has bits set past /8 (did you mean '10.0.0.0/8'?)",
    );
    const good = await validate(
      "kumo.start_esmtp_listener { listen = '127.0.0.1:0', relay_hosts = { '127.0.0.1', '10.0.0.0/8', '::/0' } }",
    );
    expect(good.output).toContain(': OK');
    expect(good.code).toBe(0);
  });

  it('names trusted_hosts and the entry', async () => {
    const bad = await validate(
      "kumo.start_http_listener { listen = '127.0.0.1:0', trusted_hosts = { '192.168.1.1/24' } }",
    );
    expect(bad.code).toBe(1);
    expect(bad.output).toContain(
      "trusted_hosts[1]: '192.168.1.1/24' is not a valid CIDR block: the address has bits set past /24 (did you mean '192.168.1.0/24'?)",
    );
  });
});
