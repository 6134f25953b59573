import {
  type DnsServer,
  type SmtpSink,
  startDnsServer,
  startSmtpSink,
} from '@sterna/protocol-testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { readLogRecords } from '../../src/logs/index.js';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { eventually, sendMail, testMessage } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';

let daemon: DaemonProcess | undefined;
let dir: PolicyDir | undefined;
let dns: DnsServer | undefined;
let sink: SmtpSink | undefined;
afterEach(async () => {
  await daemon?.kill();
  await dir?.cleanup();
  await dns?.close();
  await sink?.close();
  daemon = dir = dns = sink = undefined;
});

describe('delivery by MX through the resolver the policy configures', { timeout: 90_000 }, () => {
  it('resolves MX on the loopback DNS server named in kumo.dns.configure_resolver and relays there', async () => {
    sink = await startSmtpSink({ host: '127.0.0.2', tls: false });
    dns = await startDnsServer({
      records: {
        'mx.example.test': { MX: [{ exchange: 'mail.mx.example.test', priority: 10 }] },
        'mail.mx.example.test': { A: ['127.0.0.2'] },
        'null.example.test': { MX: [{ exchange: '', priority: 0 }] },
      },
    });
    dir = await writePolicy(
      `
kumo.on('get_egress_path_config', function(domain, source, site)
  return kumo.make_egress_path { smtp_port = ${sink.port}, prohibited_hosts = {}, enable_tls = 'Disabled' }
end)
kumo.on('get_queue_config', function() return kumo.make_queue_config { retry_interval = '1h' } end)
`,
      `kumo.dns.configure_resolver { name_servers = { '${dns.servers[0]}' } }`,
    );
    daemon = await startDaemon(dir.policy);
    await sendMail(
      daemon.smtp,
      { from: 'a@example.org', to: ['user@mx.example.test'] },
      testMessage('by-mx'),
    );
    await sendMail(
      daemon.smtp,
      { from: 'a@example.org', to: ['user@null.example.test'] },
      testMessage('null-mx'),
    );
    await sendMail(
      daemon.smtp,
      { from: 'a@example.org', to: ['user@nxdomain.example.test'] },
      testMessage('nx'),
    );
    const [copy] = await sink.waitForMessages(1, 30_000);
    expect(copy!.recipients).toEqual(['user@mx.example.test']);
    expect(copy!.data.toString()).toContain('Subject: by-mx');
    const records = await eventually(async () => {
      const all = await readLogRecords(dir!.logs);
      return all.filter((r) => r.type !== 'Reception').length >= 3 ? all : undefined;
    });
    const of = (rcpt: string) =>
      records.find((r) => r.recipient === rcpt && r.type !== 'Reception')!;
    expect(of('user@mx.example.test')).toMatchObject({
      type: 'Delivery',
      peer_address: { name: 'mail.mx.example.test' },
    });
    expect(of('user@null.example.test')).toMatchObject({
      type: 'Bounce',
      response: { code: 556, enhanced_code: { class: 5, subject: 1, detail: 10 } },
    });
    expect(of('user@nxdomain.example.test')).toMatchObject({
      type: 'TransientFailure',
      response: { code: 451 },
    });
    expect(of('user@nxdomain.example.test').response.content).toMatch(/NXDOMAIN/);
    expect(dns.queries.some((q) => q.name === 'mx.example.test' && q.type === 'MX')).toBe(true);
  });
});
