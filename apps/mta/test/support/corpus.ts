import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DaemonProcess, runSterna, startDaemon } from './daemon-process.js';

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
