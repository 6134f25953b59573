import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LogRecord } from '@sterna/core/engine';
import {
  type DnsRecords,
  type DnsServer,
  type SmtpSink,
  startDnsServer,
  startSmtpSink,
} from '@sterna/protocol-testkit';
import { expect } from 'vitest';
import { readLogRecords } from '../../src/logs/index.js';
import { type DaemonProcess, runSterna, startDaemon } from './daemon-process.js';
import { eventually, maildirMessages, sendMail } from './mail.js';

/** `apps/mta/test/corpus`: whole policies written as KumoMTA operators write them. */
export const CORPUS_DIR = fileURLToPath(new URL('../corpus', import.meta.url));

/** Where a test puts the things a real machine has at KumoMTA's usual paths. */
export interface CorpusPaths {
  readonly root: string;
  /** `/opt/kumomta/etc` */
  readonly etc: string;
  /** `/opt/kumomta/etc/policy`, holding the corpus policy and its data files. */
  readonly policyDir: string;
  /** The corpus policy itself, unchanged but for the paths. */
  readonly policy: string;
  /** The policy wrapped with the test's network (see {@link harnessLua}). */
  readonly harness: string;
  /** `/var/log/kumomta` */
  readonly logs: string;
  /** `/var/tmp/kumo-maildir` */
  readonly maildir: string;
}

export interface CorpusOptions {
  /** The loopback DNS server the policy's lookups and MX resolution use (`ip:port`). */
  readonly dns: string;
  /** The port every outbound SMTP connection goes to (the test's sink). */
  readonly smtpPort: number;
  /** More text replacements in every copied file (e.g. a webhook's address). */
  readonly replace?: Readonly<Record<string, string>>;
}

/**
 * What the harness changes around a corpus policy, and only this: its listeners listen on free
 * loopback ports, `kumo.dns` and MX resolution use the test's DNS server, and outbound SMTP goes
 * to the test's sink port with loopback allowed (KumoMTA's default `prohibited_hosts` refuses
 * 127.0.0.0/8). Everything else — the helpers, the data files, the handlers — runs as written.
 */
function harnessLua(policy: string, options: CorpusOptions): string {
  return `-- Test harness around ${policy}
local kumo = require 'kumo'
local DNS, SMTP_PORT = ${JSON.stringify(options.dns)}, ${options.smtpPort}

local function test_peer(path)
  path = path or kumo.make_egress_path {}
  path.smtp_port = SMTP_PORT
  path.prohibited_hosts = {}
  return path
end

local on = kumo.on
local has_egress_path = false
kumo.on = function(name, handler)
  if name == 'get_egress_path_config' then
    has_egress_path = true
    return on(name, function(...) return test_peer(handler(...)) end)
  elseif name == 'init' then
    return on(name, function(...)
      kumo.dns.configure_resolver { name_servers = { DNS } }
      return handler(...)
    end)
  end
  return on(name, handler)
end
for _, starter in ipairs { 'start_esmtp_listener', 'start_http_listener' } do
  local start = kumo[starter]
  kumo[starter] = function(params)
    params.listen = '127.0.0.1:0'
    return start(params)
  end
end

dofile(${JSON.stringify(policy)})

kumo.on = on
if not has_egress_path then
  on('get_egress_path_config', function() return test_peer() end)
end
`;
}

async function copyReplacing(from: string, to: string, replace: [string, string][]): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) {
      await copyReplacing(source, target, replace);
      continue;
    }
    let text = await readFile(source, 'utf8');
    for (const [a, b] of replace) text = text.split(a).join(b);
    await writeFile(target, text);
  }
}

/**
 * Lays a corpus policy out in a temp dir as it would be on a KumoMTA host, with the usual
 * absolute paths (`/opt/kumomta/etc`, `/var/spool/kumomta`, `/var/log/kumomta`,
 * `/var/tmp/kumo-maildir`) pointing inside it.
 */
export async function layOutCorpus(
  name: string,
  options: CorpusOptions,
): Promise<CorpusPaths & { cleanup(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), `sterna-corpus-${name}-`));
  const etc = join(root, 'etc');
  const policyDir = join(etc, 'policy');
  const paths = {
    root,
    etc,
    policyDir,
    policy: join(policyDir, 'init.lua'),
    harness: join(policyDir, 'harness.lua'),
    logs: join(root, 'logs'),
    maildir: join(root, 'maildir'),
  };
  const replace: [string, string][] = [
    ['/opt/kumomta/etc', etc],
    ['/var/spool/kumomta', join(root, 'spool')],
    ['/var/log/kumomta', paths.logs],
    ['/var/tmp/kumo-maildir', paths.maildir],
    ...Object.entries(options.replace ?? {}),
  ];
  await copyReplacing(join(CORPUS_DIR, name), policyDir, replace);
  await writeFile(paths.harness, harnessLua(paths.policy, options));
  return { ...paths, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** `sterna --validate` on the harnessed policy. */
export function validateCorpus(
  paths: CorpusPaths,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; output: string }> {
  return runSterna(['--validate', '--policy', paths.harness], env);
}

/** Starts the daemon on the harnessed policy. */
export function startCorpus(
  paths: CorpusPaths,
  env: NodeJS.ProcessEnv = {},
): Promise<DaemonProcess> {
  return startDaemon(paths.harness, { env: { STERNA_LOG: 'info', ...env } });
}

/** Copies extra files (keys, say) under the laid-out root. */
export async function addFile(paths: CorpusPaths, relative: string, text: string): Promise<string> {
  const target = join(paths.root, relative);
  await mkdir(join(target, '..'), { recursive: true });
  await writeFile(target, text);
  return target;
}

/** What the sink saw of each transaction: who connected, and the EHLO name they gave. */
export interface SinkTransaction {
  readonly from: string;
  readonly remoteAddress: string;
  readonly ehlo: string;
}

/** Names every corpus policy may deliver to; all of them end at the sink on 127.0.0.1. */
const CORPUS_RECORDS: Readonly<Record<string, DnsRecords>> = {
  'dest.test': { MX: [{ exchange: 'mx.dest.test', priority: 10 }] },
  'mx.dest.test': { A: ['127.0.0.1'] },
  'sub.dest.test': { MX: [{ exchange: 'mx.dest.test', priority: 10 }] },
  'provider.test': { MX: [{ exchange: 'mx1.bigmail.test', priority: 5 }] },
  'mx1.bigmail.test': { A: ['127.0.0.1'] },
  'relay1.corp.test': { A: ['127.0.0.1'] },
  'relay2.corp.test': { A: ['127.0.0.1'] },
};

/** An RSA DKIM key: the private key as PEM and the TXT record that publishes it. */
export function dkimKey(): { pem: string; txt: string } {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = pair.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return {
    pem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    txt: `v=DKIM1; k=rsa; p=${spki}`,
  };
}

/** A small message with the headers given, CRLF line endings. */
export function corpusMessage(headers: string[], body = 'Hello from the corpus.'): string {
  return [
    ...headers,
    'Date: Wed, 02 Dec 2026 08:00:00 +0000',
    `Message-ID: <${randomUUID()}@corpus.test>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
    '',
  ].join('\r\n');
}

/**
 * One corpus policy's run: the sink and DNS server it delivers through, an optional web service,
 * the laid-out policy and the daemon; `close()` stops them all.
 */
export class CorpusRun {
  daemon: DaemonProcess | undefined;
  paths: (CorpusPaths & { cleanup(): Promise<void> }) | undefined;
  dns: DnsServer | undefined;
  sink: SmtpSink | undefined;
  #web: Server | undefined;
  readonly transactions: SinkTransaction[] = [];

  /** Starts the sink (recording each transaction's peer and EHLO) and the DNS server. */
  async network(extra: Readonly<Record<string, DnsRecords>> = {}): Promise<void> {
    this.sink = await startSmtpSink({
      onMailFrom: (address, session) => {
        this.transactions.push({
          from: address,
          remoteAddress: session.remoteAddress,
          ehlo: session.hostNameAppearsAs,
        });
        return undefined;
      },
    });
    this.dns = await startDnsServer({ records: { ...CORPUS_RECORDS, ...extra } });
  }

  /** A local web service that answers 200 and records each body posted to it. */
  async webService(): Promise<{ address: string; bodies: string[] }> {
    const bodies: string[] = [];
    const web = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        bodies.push(body);
        res.writeHead(200, { 'content-type': 'text/plain' }).end('thanks');
      });
    });
    this.#web = web;
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    return { address: `127.0.0.1:${(web.address() as AddressInfo).port}`, bodies };
  }

  /** Lays the named corpus policy out, pointed at this run's DNS server and sink. */
  async layOut(name: string, replace: Readonly<Record<string, string>> = {}): Promise<CorpusPaths> {
    this.paths = await layOutCorpus(name, {
      dns: this.dns!.servers[0]!,
      smtpPort: this.sink!.port,
      replace,
    });
    return this.paths;
  }

  /** `sterna --validate` must pass with no problem; then the daemon starts on the policy. */
  async validateAndStart(env: NodeJS.ProcessEnv = {}): Promise<DaemonProcess> {
    const validation = await validateCorpus(this.paths!, env);
    expect(validation.output).not.toMatch(/problem:/);
    expect(validation.code, validation.output).toBe(0);
    this.daemon = await startCorpus(this.paths!, env);
    return this.daemon;
  }

  /** Sends one message to the daemon's first SMTP listener. */
  send(
    envelope: { from: string; to: string[] },
    data: string,
    options?: Parameters<typeof sendMail>[3],
  ): ReturnType<typeof sendMail> {
    return sendMail(this.daemon!.smtp, envelope, data, options);
  }

  /** The daemon ran clean: no error-level diagnostic, no Lua error anywhere in its output. */
  expectNoPolicyErrors(): void {
    const lines = this.daemon!.output().split('\n');
    expect(lines.filter((l) => /"level":50|STERNA_LUA/.test(l))).toEqual([]);
  }

  /** The log records once `n` of them are delivery outcomes (not Reception, not Rejection). */
  outcomes(n: number): Promise<LogRecord[]> {
    return eventually(
      async () => {
        const records = await readLogRecords(this.paths!.logs);
        const done = records.filter((r) => r.type !== 'Reception' && r.type !== 'Rejection');
        return done.length >= n ? records : undefined;
      },
      60_000,
      `${n} outcome records`,
    );
  }

  /** The messages of one Maildir under `/var/tmp/kumo-maildir`, once there are `n`. */
  maildir(folder: string, n: number): Promise<string[]> {
    return eventually(
      async () => {
        const found = await maildirMessages(join(this.paths!.maildir, folder));
        return found.length >= n ? found : undefined;
      },
      60_000,
      `${n} message(s) in the ${folder} Maildir`,
    );
  }

  async close(): Promise<void> {
    await this.daemon?.kill();
    await this.paths?.cleanup();
    await this.dns?.close();
    await this.sink?.close();
    const web = this.#web;
    if (web) await new Promise((resolve) => web.close(resolve));
  }
}
