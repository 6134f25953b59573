import type { LogRecord } from '@sterna/core/engine';
import { type SmtpSink, startSmtpSink } from '@sterna/protocol-testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { readLogRecords } from '../../src/logs/index.js';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { eventually, sendMail, testMessage } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';

let daemon: DaemonProcess | undefined;
let dir: PolicyDir | undefined;
let sink: SmtpSink | undefined;
afterEach(async () => {
  await daemon?.kill();
  await dir?.cleanup();
  await sink?.close();
  daemon = dir = sink = undefined;
});

// Loopback aliases as sending IPs: on Linux all of 127.0.0.0/8 is local, so 127.0.0.2 and
// 127.0.0.3 can be bound without configuring anything; 192.0.2.1 (TEST-NET-1) is on no host.
const POOLS = (port: number) => `
kumo.on('get_queue_config', function(domain)
  local pools = {
    ['warm.example.test'] = 'warm',
    ['unbound.example.test'] = 'unplumbed',
    ['ghost.example.test'] = 'ghost',
  }
  return kumo.make_queue_config {
    egress_pool = pools[domain],
    retry_interval = '1h',
    protocol = { smtp = { mx_list = { '127.0.0.1:${port}' } } },
  }
end)
kumo.on('get_egress_pool', function(name)
  if name == 'warm' then
    return kumo.make_egress_pool {
      name = 'warm',
      entries = { { name = 'ip-2', weight = 3 }, { name = 'ip-3', weight = 1 } },
    }
  elseif name == 'unplumbed' then
    return kumo.make_egress_pool { name = 'unplumbed', entries = { { name = 'test-net' } } }
  elseif name == 'ghost' then
    return kumo.make_egress_pool { name = 'ghost', entries = { { name = 'nosuch' } } }
  end
end)
local SOURCES = {
  ['ip-2'] = { source_address = '127.0.0.2', ehlo_domain = 'mta2.example.test' },
  ['ip-3'] = { source_address = '127.0.0.3', ehlo_domain = 'mta3.example.test' },
  ['test-net'] = { source_address = '192.0.2.1' },
}
kumo.on('get_egress_source', function(name)
  local s = SOURCES[name]
  if not s then error('no source called ' .. name) end
  return kumo.make_egress_source {
    name = name, source_address = s.source_address, ehlo_domain = s.ehlo_domain,
  }
end)
kumo.on('get_egress_path_config', function(domain, source, site)
  -- The path's EHLO name beats the source's: only for ip-3, which proves the real source name
  -- reaches this handler.
  return kumo.make_egress_path {
    prohibited_hosts = {}, enable_tls = 'Disabled',
    ehlo_domain = source == 'ip-3' and 'path-for-ip-3.example.test' or nil,
  }
end)
`;

function inject(base: string, recipients: string[]): Promise<Response> {
  return fetch(`${base}/api/inject/v1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      envelope_sender: 'news@example.org',
      content: 'Subject: pooled\r\n\r\nhello\r\n',
      recipients: recipients.map((email) => ({ email })),
    }),
  });
}

const attempts = (records: readonly LogRecord[]) =>
  records.filter((r) => r.type !== 'Reception' && r.type !== 'Rejection');

describe('egress pools and sources', { timeout: 180_000 }, () => {
  it('spreads a pool over its sources by weight, binding each address and EHLO name', async () => {
    sink = await startSmtpSink({ tls: false });
    dir = await writePolicy(POOLS(sink.port));
    daemon = await startDaemon(dir.policy);

    const n = 200;
    const response = await inject(
      daemon.http!,
      Array.from({ length: n }, (_, i) => `user${i}@warm.example.test`),
    );
    expect(response.status).toBe(200);
    expect(((await response.json()) as { success_count: number }).success_count).toBe(n);
    const messages = await sink.waitForMessages(n, 120_000);

    const from2 = messages.filter((m) => m.remoteAddress === '127.0.0.2');
    const from3 = messages.filter((m) => m.remoteAddress === '127.0.0.3');
    expect(from2.length + from3.length).toBe(n);
    // Weights 3:1. Whatever the rotation does, a share further than 5 binomial standard
    // deviations from 3/4 would be a broken selection, not chance (sd ≈ 6.1 messages at n = 200).
    const sd = Math.sqrt(n * 0.75 * 0.25);
    expect(Math.abs(from2.length - n * 0.75)).toBeLessThanOrEqual(5 * sd);
    expect(from3.length).toBeGreaterThan(0);
    // The source's EHLO name for ip-2; the egress path's for ip-3 (the path wins).
    expect(new Set(from2.map((m) => m.heloName))).toEqual(new Set(['mta2.example.test']));
    expect(new Set(from3.map((m) => m.heloName))).toEqual(new Set(['path-for-ip-3.example.test']));

    const records = await eventually(async () => {
      const all = attempts(await readLogRecords(dir!.logs));
      return all.length >= n ? all : undefined;
    }, 60_000);
    expect(records.every((r) => r.type === 'Delivery')).toBe(true);
    for (const [source, address] of [
      ['ip-2', '127.0.0.2'],
      ['ip-3', '127.0.0.3'],
    ] as const) {
      const mine = records.filter((r) => r.egress_source === source);
      expect(mine.length).toBe(source === 'ip-2' ? from2.length : from3.length);
      for (const record of mine) {
        expect(record).toMatchObject({
          egress_pool: 'warm',
          site: `${source}->mx_list:127.0.0.1:${sink.port}@smtp_client`,
          delivery_protocol: 'ESMTP',
        });
        expect(record.source_address?.address).toMatch(new RegExp(`^${address}:\\d+$`));
      }
    }
  });

  it('fails transiently, keeping the message, when a source cannot be bound or described', async () => {
    sink = await startSmtpSink({ tls: false });
    dir = await writePolicy(POOLS(sink.port));
    daemon = await startDaemon(dir.policy);
    const ids: Record<string, string> = {};
    for (const domain of ['unbound.example.test', 'ghost.example.test']) {
      const reply = await sendMail(
        daemon.smtp,
        { from: 'a@example.org', to: [`user@${domain}`] },
        testMessage(domain),
      );
      ids[domain] = /ids=([0-9a-f]{32})/.exec(reply.response)![1]!;
    }
    const failures = await eventually(async () => {
      const all = attempts(await readLogRecords(dir!.logs));
      return all.length >= 2 ? all : undefined;
    }, 60_000);
    const of = (domain: string) => failures.find((r) => r.id === ids[domain])!;

    expect(of('unbound.example.test')).toMatchObject({
      type: 'TransientFailure',
      egress_pool: 'unplumbed',
      egress_source: 'test-net',
      site: `test-net->mx_list:127.0.0.1:${sink.port}@smtp_client`,
      source_address: null,
    });
    expect(of('unbound.example.test').response.content).toBe(
      "KumoMTA internal: failed to connect to any candidate hosts: egress source 'test-net' cannot bind source_address 192.0.2.1: EADDRNOTAVAIL (is the address configured on this host?)",
    );

    // A source the policy cannot describe: the message stays in its scheduled queue.
    expect(of('ghost.example.test')).toMatchObject({
      type: 'TransientFailure',
      site: '',
      response: { code: 451 },
    });
    expect(of('ghost.example.test').response.content).toMatch(
      /^KumoMTA internal: failed to resolve queue ghost\.example\.test: egress source 'nosuch' of pool 'ghost': .*no source called nosuch/,
    );

    // Nothing lost: both wait in the spool for their next attempt, and nothing reached the sink.
    for (const id of Object.values(ids)) {
      const inspect = await fetch(`${daemon.http}/api/admin/inspect-message/v1?id=${id}`);
      expect(inspect.status).toBe(200);
      expect(await inspect.json()).toMatchObject({ id, message: { num_attempts: 1 } });
    }
    expect(sink.sessions()).toBe(0);
  });

  it('without pool or source handlers, sends from the unspecified source as before', async () => {
    sink = await startSmtpSink({ tls: false });
    dir = await writePolicy(`
kumo.on('get_queue_config', function(domain)
  return kumo.make_queue_config { protocol = { smtp = { mx_list = { '127.0.0.1:${sink.port}' } } } }
end)
kumo.on('get_egress_path_config', function(domain, source, site)
  return kumo.make_egress_path {
    prohibited_hosts = {}, enable_tls = 'Disabled', ehlo_domain = 'path-for-' .. source,
  }
end)
`);
    daemon = await startDaemon(dir.policy);
    await sendMail(
      daemon.smtp,
      { from: 'a@example.org', to: ['user@plain.example.test'] },
      testMessage('plain'),
    );
    const [copy] = await sink.waitForMessages(1, 60_000);
    expect(copy).toMatchObject({ remoteAddress: '127.0.0.1', heloName: 'path-for-unspecified' });
    const [delivery] = await eventually(async () => {
      const all = attempts(await readLogRecords(dir!.logs));
      return all.length >= 1 ? all : undefined;
    }, 60_000);
    expect(delivery).toMatchObject({
      type: 'Delivery',
      egress_pool: 'unspecified',
      egress_source: 'unspecified',
      site: `unspecified->mx_list:127.0.0.1:${sink.port}@smtp_client`,
    });
    expect(delivery!.source_address?.address).toMatch(/^127\.0\.0\.1:\d+$/);
  });
});
