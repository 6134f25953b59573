import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type SmtpSink, startSmtpSink } from '@sterna/protocol-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The test reads the daemon's log files with the workspace's own reader, not the installed copy.
import { readLogRecords } from '../../../apps/mta/src/logs/index.js';
import {
  type InstalledDaemon,
  type SlimInstall,
  slimInstall,
  startInstalledDaemon,
} from '../src/slim-install.js';
import { workspaceRoot } from '../src/workspace.js';

// An operator's install outside the workspace: the app, core, the policy runtime (and the
// package TypeScript policies import, a dependency of the app), the maildir driver and a
// third-party driver (the LMTP example) — no SMTP and no Lua driver.
const INSTALLED = [
  '@sterna/core',
  '@sterna/lua',
  '@sterna/policy',
  '@sterna/protocol-maildir',
  'sterna-protocol-lmtp',
  '@sterna/mta',
];

let root: string;
let install: SlimInstall;
let sink: SmtpSink;
let daemon: InstalledDaemon | undefined;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sterna-slim-'));
  install = await slimInstall(root, INSTALLED);
  sink = await startSmtpSink({ lmtp: true, tls: false });
  const policy = join(install.dir, 'init.lua');
  await writeFile(
    policy,
    `local kumo = require 'kumo'
local DIR = ${JSON.stringify(install.dir)}
kumo.on('init', function()
  kumo.start_http_listener { listen = '127.0.0.1:0' }
  kumo.define_spool { name = 'data', path = DIR .. '/spool/data' }
  kumo.define_spool { name = 'meta', path = DIR .. '/spool/meta' }
  kumo.configure_local_logs { log_dir = DIR .. '/logs', max_segment_duration = '1s' }
end)
kumo.on('get_queue_config', function(domain)
  if domain == 'maildir.test' then
    return kumo.make_queue_config { protocol = { maildir_path = DIR .. '/maildir' } }
  end
  if domain == 'lmtp.test' then
    return kumo.make_queue_config { protocol = { lmtp = { host = '127.0.0.1', port = ${sink.port} } } }
  end
  return kumo.make_queue_config { retry_interval = '1h' } -- smtp, not installed
end)
`,
  );
  await writeFile(
    join(install.dir, 'sterna.config.yaml'),
    "drivers: ['@sterna/protocol-maildir', 'sterna-protocol-lmtp']\n",
  );
  daemon = await startInstalledDaemon(install.dir, policy);
});

afterAll(async () => {
  await daemon?.stop();
  await sink?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

async function inject(recipient: string, subject: string) {
  const response = await fetch(`${daemon!.http}/api/inject/v1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      envelope_sender: 'sender@example.org',
      content: `Subject: ${subject}\r\n\r\nslim install\r\n`,
      recipients: [{ email: recipient }],
    }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
}

// Polls every 100 ms, at most `ms`.
async function eventually<T>(fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  for (let i = 0; i < ms / 100; i++) {
    const value = await fn();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not within ${ms} ms:\n${daemon?.output()}`);
}

describe('a slim install from packed tarballs, outside the workspace', () => {
  it('holds no SMTP or Lua driver, and of the SMTP driver’s dependencies only what others need', async () => {
    const modules = join(install.dir, 'node_modules');
    expect((await readdir(join(modules, '@sterna'))).sort()).toEqual([
      'core',
      'lua',
      'mta',
      'policy',
      'protocol-maildir',
    ]);
    expect(existsSync(join(modules, 'sterna-protocol-lmtp', 'dist', 'index.js'))).toBe(true);
    // Not hoisted, and not nested anywhere either.
    expect(await findPackageDirs(modules, 'protocol-smtp')).toEqual([]);
    expect(await findPackageDirs(modules, 'protocol-lua')).toEqual([]);
    const smtpDriver = JSON.parse(
      await readFile(join(workspaceRoot, 'packages/protocol-smtp/package.json'), 'utf8'),
    ) as { dependencies: Record<string, string> };
    const shared = Object.keys(smtpDriver.dependencies).filter((d) => existsSync(join(modules, d)));
    // What is shared, and who needs it: zod (maildir, LMTP, the app), nodemailer (smtp-server,
    // the app's own SMTP listener) — never the SMTP driver.
    expect(shared.sort()).toEqual(['nodemailer', 'zod']);
    expect(await dependents(modules, 'nodemailer')).toEqual(['smtp-server']);
    expect(await dependents(modules, 'zod')).toEqual(
      expect.arrayContaining(['@sterna/mta', '@sterna/protocol-maildir', 'sterna-protocol-lmtp']),
    );
  });

  it('delivers by maildir and by LMTP; an smtp queue is told to install @sterna/protocol-smtp', async () => {
    await inject('user@maildir.test', 'to maildir');
    await inject('alice@lmtp.test', 'to lmtp');
    await inject('user@smtp.test', 'to smtp');
    const files = await eventually(async () => {
      const names = await readdir(join(install.dir, 'maildir', 'new')).catch(() => []);
      return names.length === 1 ? names : undefined;
    });
    const stored = await readFile(join(install.dir, 'maildir', 'new', files[0]!), 'utf8');
    expect(stored).toContain('Subject: to maildir');
    const [lmtp] = await sink.waitForMessages(1, 20_000);
    expect(lmtp?.recipients).toEqual(['alice@lmtp.test']);
    expect(lmtp?.data.toString()).toContain('Subject: to lmtp');

    const records = await eventually(async () => {
      const found = await readLogRecords(join(install.dir, 'logs')).catch(() => []);
      return found.some((r) => r.type === 'TransientFailure') &&
        found.filter((r) => r.type === 'Delivery').length === 2
        ? found
        : undefined;
    });
    const deliveries = records.filter((r) => r.type === 'Delivery');
    expect(deliveries.map((r) => r.delivery_protocol).sort()).toEqual(['LMTP', 'Maildir']);
    const smtp = records.find((r) => r.type === 'TransientFailure');
    expect(smtp?.recipient).toBe('user@smtp.test');
    expect(smtp?.response.content).toContain('install @sterna/protocol-smtp');
    expect(await daemon!.stop()).toBe(0);
  });
});

describe('a TypeScript policy under the installed daemon (built code, no tsx registered)', () => {
  // `sterna --validate` of the installed bin on a policy in a folder of its own, with no
  // node_modules: '@sterna/policy' comes from the install, the TypeScript is compiled as loaded.
  const validate = async (text: string) => {
    const dir = await mkdtemp(join(root, 'ts-policy-'));
    await writeFile(join(dir, 'policy.ts'), text);
    const bin = join(install.dir, 'node_modules', '@sterna', 'mta', 'bin', 'sterna.js');
    return promisify(execFile)(
      process.execPath,
      [bin, '--validate', '--policy', join(dir, 'policy.ts')],
      { cwd: install.dir, timeout: 120_000, env: { ...process.env, STERNA_LOG: 'warn' } },
    ).then(
      (r) => ({ code: 0, output: r.stdout + r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({
        code: e.code ?? -1,
        output: `${e.stdout ?? ''}${e.stderr ?? ''}`,
      }),
    );
  };
  const policy = (
    init: string,
  ) => `import { defineSpool, makeQueueConfig, on, startHttpListener } from '@sterna/policy';
const port: number = 0;
on('init', async () => {
  await startHttpListener({ listen: \`127.0.0.1:\${port}\` });
  await defineSpool({ name: 'data', path: '/tmp/unused' });
  ${init}
});
on('get_queue_config', () => makeQueueConfig({ retry_interval: '1h' }));
`;

  it('validates a good one, and names the key of a bad one', async () => {
    const good = await validate(policy(''));
    expect(good.output).toMatch(/policy\.ts: OK|policy\.ts: \d+ problem/);
    expect(good.output).not.toMatch(/Cannot find|ERR_|failed to load/);
    const bad = await validate(
      policy("await defineSpool({ name: 'meta', path: '/tmp/unused', flsh: true } as never);"),
    );
    expect(bad.code).not.toBe(0);
    expect(bad.output).toContain("defineSpool: unknown field 'flsh'");
  });
});

// Directories named `name` under any @sterna scope in the tree (bounded depth).
async function findPackageDirs(dir: string, name: string, depth = 0): Promise<string[]> {
  if (depth > 6) return [];
  const hits: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (!entry.isDirectory()) continue;
    const full = join(dir, entry.name);
    if (entry.name === name && dir.endsWith('@sterna')) hits.push(full);
    if (
      entry.name === 'node_modules' ||
      entry.name.startsWith('@') ||
      dir.endsWith('node_modules') ||
      dir.includes('@')
    ) {
      hits.push(...(await findPackageDirs(full, name, depth + 1)));
    }
  }
  return hits;
}

// The top-level packages whose package.json lists `dep` as a dependency.
async function dependents(modules: string, dep: string): Promise<string[]> {
  const names: string[] = [];
  for (const entry of await readdir(modules)) {
    const dirs = entry.startsWith('@')
      ? (await readdir(join(modules, entry))).map((n) => `${entry}/${n}`)
      : [entry];
    for (const name of dirs) {
      const manifest = await readFile(join(modules, name, 'package.json'), 'utf8').catch(() => '');
      if (!manifest) continue;
      const deps = (JSON.parse(manifest) as { dependencies?: Record<string, string> }).dependencies;
      if (deps && dep in deps) names.push(name);
    }
  }
  return names.sort();
}
