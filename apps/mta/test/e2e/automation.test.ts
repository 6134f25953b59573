import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LogRecord } from '@sterna/core/engine';
import {
  type DnsServer,
  type SmtpSink,
  startDnsServer,
  startSmtpSink,
} from '@sterna/protocol-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLogRecords } from '../../src/logs/index.js';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { eventually } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';

// The shaping helper with automation, as a KumoMTA operator writes it; the rules live in the
// shaping file, and the daemon acts on them itself (no TSA daemon).
const POLICY = (port: number) => `
local shaping = require 'policy-extras.shaping'
local shaper = shaping:setup_with_automation {
  no_default_files = true,
  extra_files = { DIR .. '/shaping.toml' },
}
kumo.on('get_egress_path_config', shaper.get_egress_path_config)
kumo.on('get_queue_config', function(domain)
  return kumo.make_queue_config {
    retry_interval = '1s', max_retry_interval = '1s',
    protocol = { smtp = { mx_list = { '127.0.0.1:${port}' } } },
  }
end)
`;
const INIT = (dns: string) => `kumo.dns.configure_resolver { name_servers = { '${dns}' } }`;

const SHAPING = `
["default"]
prohibited_hosts = []
enable_tls = "Disabled"

["auto.shaping.test"]
mx_rollup = false

[["auto.shaping.test".automation]]
regex = "4\\\\.7\\\\.28"
action = "Suspend"
duration = "4s"
`;

const BOUNCE_RULE = `
[["auto.shaping.test".automation]]
regex = "4\\\\.2\\\\.0"
action = "Bounce"
duration = "10m"

["cfg.shaping.test"]
mx_rollup = false

[["cfg.shaping.test".automation]]
regex = "451 4\\\\.3\\\\.0"
action = { SetConfig = { name = "connection_limit", value = 2 } }
duration = "10m"
`;

describe('traffic shaping automation, in the daemon', { timeout: 240_000 }, () => {
  let dir: PolicyDir;
  let dns: DnsServer;
  let sink: SmtpSink;
  let daemon: DaemonProcess | undefined;
  let throttledAt: number | undefined;

  beforeAll(async () => {
    dns = await startDnsServer({
      records: {
        'auto.shaping.test': { MX: [{ exchange: 'mx.auto.shaping.test', priority: 10 }] },
        'mx.auto.shaping.test': { A: ['127.0.0.1'] },
        'cfg.shaping.test': { MX: [{ exchange: 'mx.auto.shaping.test', priority: 10 }] },
      },
    });
    sink = await startSmtpSink({
      tls: false,
      // The first message gets the reply Gmail gives a sender it rate-limits.
      onData: () => {
        if (throttledAt !== undefined) return undefined;
        throttledAt = Date.now();
        return { code: 421, message: '4.7.28 Our system has detected an unusual rate' };
      },
    });
    dir = await writePolicy(POLICY(sink.port), INIT(dns.servers[0]!));
    await writeFile(join(dir.dir, 'shaping.toml'), SHAPING);
    await writeFile(join(dir.dir, 'sterna.config.json'), '{ "config_monitor_interval": 0.2 }\n');
    daemon = await startDaemon(dir.policy, { env: { STERNA_LOG: 'info' } });
  });
  afterAll(async () => {
    await daemon?.kill();
    await sink?.close();
    await dns?.close();
    await dir?.cleanup();
  });

  const inject = async (local: string, domain = 'auto.shaping.test') => {
    const response = await fetch(`${daemon!.http}/api/inject/v1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        envelope_sender: 'sender@example.org',
        content: 'Subject: automated\r\n\r\nhello\r\n',
        recipients: [{ email: `${local}@${domain}` }],
      }),
    });
    expect(response.status).toBe(200);
  };
  const get = async (path: string) =>
    (await (await fetch(`${daemon!.http}/api/admin/${path}`)).json()) as unknown;
  const records = async (pick: (r: LogRecord) => boolean) =>
    (await readLogRecords(dir.logs)).filter(pick);

  it('a 421 4.7.28 suspends the path after one reply; mail goes within seconds of the end', async () => {
    await inject('first');
    await eventually(() => throttledAt, 30_000, 'the sink to throttle the first message');
    await inject('second');
    await inject('third');

    const listed = (await eventually(async () => {
      const list = (await get('suspend-ready-q/v1')) as { name: string; reason: string }[];
      return list.length > 0 ? list : undefined;
    }, 10_000)) as { name: string; reason: string; duration: string }[];
    expect(listed[0]!.name).toBe(`unspecified->mx_list:127.0.0.1:${sink.port}@smtp_client`);
    expect(listed[0]!.reason).toMatch(/^automation rule/);
    // Kept for a restart (the state file is written a moment after the change).
    const state = await eventually(async () => {
      const text = await readFile(join(dir.dir, 'spool', 'shaping-state.json'), 'utf8').catch(
        () => undefined,
      );
      const parsed = text === undefined ? undefined : JSON.parse(text);
      return parsed?.readySuspensions?.length > 0 ? parsed : undefined;
    }, 10_000);
    expect(state.readySuspensions).toHaveLength(1);

    const delivered = await sink.waitForMessages(3, 60_000);
    for (const message of delivered) {
      // Nothing before the four-second suspension ended; everything soon after.
      expect(message.receivedAt - throttledAt!).toBeGreaterThanOrEqual(3500);
      expect(message.receivedAt - throttledAt!).toBeLessThan(4000 + 8000);
    }
    expect(daemon!.output()).toMatch(/automation.*Suspend/i);
  });

  it('a changed shaping file brings new rules without a restart, and they act', async () => {
    await writeFile(join(dir.dir, 'shaping.toml'), SHAPING + BOUNCE_RULE);
    await eventually(
      () => (/rules reloaded \(1 before, 3 now\)/.test(daemon!.output()) ? true : undefined),
      30_000,
      'the rules to reload',
    );
    // The sink answers a 'tempfail' recipient 450 4.2.0: the new rule bounces the domain.
    await inject('tempfail-after-reload');
    const bounced = await eventually(async () => {
      const found = await records((r) => r.type === 'AdminBounce');
      return found.length > 0 ? found : undefined;
    }, 30_000);
    expect(bounced[0]!.recipient).toBe('tempfail-after-reload@auto.shaping.test');
    expect(bounced[0]!.response.content).toMatch(
      /^Administrator bounced with reason: automation rule/,
    );
    const rules = (await get('bounce/v1')) as { domain: string }[];
    expect(rules.map((r) => r.domain)).toEqual(['auto.shaping.test']);
  });

  it('SetConfig changes the path for a while, listed with what it changed', async () => {
    // The sink answers a 'data451' recipient 451 4.3.0 after DATA.
    await inject('data451-setconfig', 'cfg.shaping.test');
    const overrides = (await eventually(async () => {
      const list = (await get('shaping-overrides/v1')) as unknown[];
      return list.length > 0 ? list : undefined;
    }, 30_000)) as { scope: unknown; name: string; value: unknown; reason: string }[];
    expect(overrides[0]).toMatchObject({
      scope: { source: 'unspecified', site: `mx_list:127.0.0.1:${sink.port}` },
      name: 'connection_limit',
      value: 2,
    });
    expect(overrides[0]!.reason).toMatch(/^automation rule/);
  });

  it('suspensions survive a kill -9 and a restart', async () => {
    const response = await fetch(`${daemon!.http}/api/admin/suspend-ready-q/v1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'pool-a->mx.example.com@smtp_client',
        reason: 'maintenance',
        duration: '10m',
      }),
    });
    const { id } = (await response.json()) as { id: string };
    // The state file is written a moment after the change.
    await eventually(async () => {
      const text = await readFile(join(dir.dir, 'spool', 'shaping-state.json'), 'utf8');
      return text.includes(id) ? true : undefined;
    }, 10_000);
    await daemon!.kill();
    daemon = await startDaemon(dir.policy, { env: { STERNA_LOG: 'info' } });
    const list = (await get('suspend-ready-q/v1')) as { id: string; reason: string }[];
    expect(list.find((s) => s.id === id)).toMatchObject({ reason: 'maintenance' });
    const bounces = (await get('bounce/v1')) as { domain: string }[];
    expect(bounces.map((r) => r.domain)).toEqual(['auto.shaping.test']);
  });
});
