// The seed's three policies (smarthost mx_list, maildir_path, a custom_lua sender), each run
// through the daemon twice — as the Lua the repository ships (examples/*/seed.lua) and as its
// TypeScript translation (examples/typescript-policy/src/seeds) — give the same log records,
// apart from ids, times and ports.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type DnsServer,
  type SmtpSink,
  startDnsServer,
  startSmtpSink,
} from '@sterna/protocol-testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { readLogRecords } from '../../src/logs/index.js';
import { type DaemonProcess, runSterna, startDaemon } from '../support/daemon-process.js';
import { eventually, maildirMessages, sendMail, testMessage } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';
import { TS_EXAMPLES, writeTsPolicy } from '../support/ts-policy.js';

const example = (path: string) =>
  readFileSync(fileURLToPath(new URL(`../../../../examples/${path}`, import.meta.url)), 'utf8');

let daemon: DaemonProcess | undefined;
let dirs: PolicyDir[] = [];
let dns: DnsServer | undefined;
let sink: SmtpSink | undefined;
afterEach(async () => {
  await daemon?.kill();
  for (const dir of dirs) await dir.cleanup();
  await dns?.close();
  await sink?.close();
  daemon = dns = sink = undefined;
  dirs = [];
});

interface Seed {
  readonly name: string;
  readonly recipient: string;
  /** What the seed's delivery left behind, once it is there. */
  readonly delivered: (dir: PolicyDir, daemon: DaemonProcess) => Promise<unknown>;
  /** What the Delivery record says (of both runs: they are compared whole). */
  readonly delivery: Record<string, unknown>;
}

const SEEDS: readonly Seed[] = [
  {
    name: 'smarthost',
    recipient: 'user@smarthost.example.com',
    delivered: async () => (await sink!.waitForMessages(1, 60_000))[0],
    delivery: { peer_address: { name: 'smart.host.local' } },
  },
  {
    name: 'maildir',
    recipient: 'user@maildir.example.com',
    delivered: (dir) =>
      eventually(async () => (await maildirMessages(dir.maildir))[0], 60_000, 'the Maildir copy'),
    delivery: { delivery_protocol: 'Maildir' },
  },
  {
    name: 'webhook',
    recipient: 'user@webhook',
    delivered: (_dir, d) =>
      eventually(
        () => (d.output().includes('Subject: seed-webhook') ? true : undefined),
        60_000,
        'the message printed by send()',
      ),
    delivery: { delivery_protocol: 'Lua', response: { code: 200, content: 'OK' } },
  },
];

// Keys whose values differ between any two runs: ids, clocks, the node, ephemeral ports.
const VARYING = new Set([
  'id',
  'timestamp',
  'created',
  'created_time',
  'event_time',
  'nodeid',
  'session_id',
  'source_address',
]);

// A Maildir file name (time, counter, pid, device, inode, host): unique to each delivery.
const MAILDIR_NAME = /id=\d+\.[^,"]+/g;

// A record without its varying keys, the run's temp dir written as <DIR> and a Maildir file
// name as <name>.
function comparable(record: Record<string, unknown>, dir: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (!VARYING.has(key)) out[key] = value;
  }
  const text = JSON.stringify(out).split(dir).join('<DIR>').replace(MAILDIR_NAME, 'id=<name>');
  return JSON.parse(text) as Record<string, unknown>;
}

async function runSeed(seed: Seed, language: 'lua' | 'ts'): Promise<Record<string, unknown>[]> {
  const endpoint = dns!.servers[0]!;
  const egress = `smtp_port = ${sink!.port}, prohibited_hosts = {}, enable_tls = 'Disabled'`;
  const dir =
    language === 'lua'
      ? await writePolicy(
          `${example(`${seed.name}/seed.lua`)
            .split("'/var/tmp/kumo-maildir'")
            .join("DIR .. '/maildir'")
            .split('10.0.0.1')
            .join('127.0.0.9')}
kumo.on('get_egress_path_config', function() return kumo.make_egress_path { ${egress} } end)`,
          `kumo.dns.configure_resolver { name_servers = { '${endpoint}' } }`,
        )
      : await writeTsPolicy({
          modules: [new URL(`seeds/${seed.name}.ts`, TS_EXAMPLES)],
          replace: (d) => ({ '/var/tmp/kumo-maildir': `${d}/maildir`, '10.0.0.1': '127.0.0.9' }),
          init: `await sterna.dns.configureResolver({ name_servers: ['${endpoint}'] });`,
          body: `sterna.on('get_egress_path_config', () => sterna.makeEgressPath({ smtp_port: ${sink!.port}, prohibited_hosts: [], enable_tls: 'Disabled' }));`,
        });
  dirs.push(dir);
  daemon = await startDaemon(dir.policy, { env: { STERNA_LOG: 'info' } });
  await sendMail(
    daemon.smtp,
    { from: 'sender@example.org', to: [seed.recipient] },
    testMessage(`seed-${seed.name}`),
  );
  await seed.delivered(dir, daemon);
  const records = await eventually(
    async () => {
      const all = await readLogRecords(dir.logs);
      return all.some((r) => r.type === 'Delivery') ? all : undefined;
    },
    60_000,
    'the Delivery record',
  );
  expect(daemon.output()).not.toMatch(/policy error|STERNA_LUA_ERROR|TypeError/);
  await daemon.stop();
  daemon = undefined;
  return records.map((r) => comparable(r as unknown as Record<string, unknown>, dir.dir));
}

describe('the seed policies in TypeScript log what their Lua versions log', {
  timeout: 300_000,
}, () => {
  for (const seed of SEEDS) {
    it(`${seed.name}`, async () => {
      sink = await startSmtpSink({ host: '127.0.0.1', tls: false });
      dns = await startDnsServer({ records: { 'smart.host.local': { A: ['127.0.0.1'] } } });
      const lua = await runSeed(seed, 'lua');
      if (seed.name === 'smarthost') sink.messages.length = 0;
      const ts = await runSeed(seed, 'ts');
      expect(lua.map((r) => r.type)).toEqual(['Reception', 'Delivery']);
      expect(lua[1]).toMatchObject(seed.delivery);
      expect(ts).toEqual(lua);
    });
  }
});

describe('sterna --validate on a TypeScript policy', { timeout: 120_000 }, () => {
  it('runs init in check mode: a misspelled key, a syntax error and validate_config each fail by name', async () => {
    const good = await writeTsPolicy();
    dirs.push(good);
    expect(await runSterna(['--validate', '--policy', good.policy])).toMatchObject({
      code: 0,
      output: expect.stringContaining(`${good.policy}: OK`),
    });
    const misspelled = await writeTsPolicy({
      // A cast, as JavaScript or a careless edit would pass it: the run-time check still names it.
      init: "await sterna.configureLogHook({ name: 'hook', max_segment_duraton: '1s' } as never);",
    });
    dirs.push(misspelled);
    const typo = await runSterna(['--validate', '--policy', misspelled.policy]);
    expect(typo.code).not.toBe(0);
    expect(typo.output).toContain("configureLogHook: unknown field 'max_segment_duraton'");
    const broken = await writeTsPolicy({ body: 'const x: number = ;' });
    dirs.push(broken);
    const syntax = await runSterna(['--validate', '--policy', broken.policy]);
    expect(syntax.code).not.toBe(0);
    expect(syntax.output).toMatch(/policy\.ts:\d+: Unexpected ";"/);
    const refused = await writeTsPolicy({
      body: "sterna.on('validate_config', async () => { await sterna.validationFailed(); });",
    });
    dirs.push(refused);
    const failed = await runSterna(['--validate', '--policy', refused.policy]);
    expect(failed.code).not.toBe(0);
    expect(failed.output).toContain('validation failed');
  });
});
