// The seed's three policies (smarthost mx_list, maildir_path, a custom_lua sender), each run
// through the daemon twice — as the Lua the repository ships (examples/*/seed.lua) and as its
// TypeScript translation (examples/typescript-policy/src/seeds) — give the same log records,
// apart from ids, times and ports.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
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
  it('runs init in check mode: a misspelled key (awaited or not), a syntax error and validate_config each fail by name', async () => {
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
    // The same mistake in a call init forgot to await: init fails all the same.
    const unawaited = await writeTsPolicy({
      init: "void sterna.configureLogHook({ name: 'hook', max_segment_duraton: '1s' } as never);",
    });
    dirs.push(unawaited);
    const forgotten = await runSterna(['--validate', '--policy', unawaited.policy]);
    expect(forgotten.code).not.toBe(0);
    expect(forgotten.output).toContain("configureLogHook: unknown field 'max_segment_duraton'");
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

describe('a hostile TypeScript policy', { timeout: 240_000 }, () => {
  it('an endless loop, a runaway allocation and a throw fail their queues transiently; other mail flows, the daemon lives', async () => {
    const dir = await writeTsPolicy({
      body: `
sterna.on('get_queue_config', (domain) => {
  if (domain === 'loop.test') for (;;) {}
  if (domain === 'alloc.test') {
    const hoard: string[] = [];
    for (;;) hoard.push('x'.repeat(1 << 20) + hoard.length);
  }
  if (domain === 'error.test') throw new Error(\`queue config refused for \${domain}\`);
  return sterna.makeQueueConfig({ retry_interval: '1s', max_retry_interval: '2s', protocol: { maildir_path: \`\${DIR}/maildir\` } });
});`,
    });
    dirs.push(dir);
    await writeFile(
      `${dir.dir}/sterna.config.json`,
      // A short deadline stops the loop soon; a small heap stops the allocation soon. Four
      // workers, so ordinary mail is not left waiting behind the hostile calls.
      JSON.stringify({ lua: { contexts: 4, event_deadline: 5, memory_limit: 64 * 2 ** 20 } }),
    );
    daemon = await startDaemon(dir.policy, { env: { STERNA_LOG: 'warn' } });
    for (const domain of ['loop.test', 'alloc.test', 'error.test', 'ok.test']) {
      const reply = await sendMail(
        daemon.smtp,
        { from: 'a@example.org', to: [`user@${domain}`] },
        testMessage(`to-${domain}`),
      );
      expect(reply.response).toMatch(/^250/);
    }
    await eventually(
      async () =>
        (await maildirMessages(dir.maildir)).find((m) => m.includes('Subject: to-ok.test')),
      60_000,
      'the ordinary message delivered',
    );
    const failures = await eventually(
      async () => {
        const records = await readLogRecords(dir.logs);
        const failed = new Map<string, string>();
        for (const r of records) {
          if (r.type === 'TransientFailure') failed.set(String(r.queue), r.response.content);
        }
        return ['loop.test', 'alloc.test', 'error.test'].every((q) => failed.has(q))
          ? failed
          : undefined;
      },
      120_000,
      'a TransientFailure on each hostile queue',
    );
    expect(failures.get('error.test')).toContain('queue config refused for error.test');
    // No bounce: the messages wait in the spool for the policy to be fixed.
    const records = await readLogRecords(dir.logs);
    expect(records.filter((r) => r.type === 'Bounce')).toEqual([]);
    expect(daemon.child.exitCode).toBeNull();
    expect(daemon.child.signalCode).toBeNull();
    // And it still takes mail.
    const after = await sendMail(
      daemon.smtp,
      { from: 'a@example.org', to: ['again@ok.test'] },
      testMessage('after-hostile'),
    );
    expect(after.response).toMatch(/^250/);
  });
});
