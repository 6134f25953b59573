// The daemon as users run it: the compiled CLI (`pnpm build` first), its own process.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Compiles the daemon and what it depends on (turbo caches unchanged packages). */
export function buildDaemon(root: string): void {
  process.stderr.write('building the daemon (turbo build)…\n');
  execFileSync(
    'npx',
    [
      '-y',
      'pnpm@12.4.2',
      'exec',
      'turbo',
      'run',
      'build',
      '--filter=@sterna/mta...',
      '--output-logs=errors-only',
    ],
    {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
    },
  );
}

export interface RunningDaemon {
  readonly child: ChildProcess;
  readonly smtpPort: number;
  readonly http: string;
  /** Peak resident memory seen so far, MB. */
  peakRssMb(): number;
  /** What the daemon wrote to stderr so far (its log, at the level `STERNA_LOG` set). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts the compiled daemon on `policyFile`; `nodeArgs` go to Node first (`--cpu-prof`, …).
 * It logs errors only unless `logLevel` says otherwise.
 */
export async function startDaemon(
  root: string,
  policyFile: string,
  nodeArgs: readonly string[] = [],
  logLevel = 'error',
  env: Readonly<Record<string, string>> = {},
): Promise<RunningDaemon> {
  const child = spawn(
    process.execPath,
    [...nodeArgs, join(root, 'apps/mta/bin/sterna.js'), '--policy', policyFile],
    {
      env: { ...process.env, ...env, STERNA_LOG: logLevel },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const deadline = Date.now() + 120_000;
  while (!err.includes('initialization complete')) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`the daemon did not start:\n${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  let peak = 0;
  const sample = () => {
    try {
      const kb = Number(
        /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0,
      );
      peak = Math.max(peak, kb / 1024);
    } catch {
      // exited
    }
  };
  const sampler = setInterval(sample, 250);
  // However it ends (stop(), or a kill -9 from the benchmark), the sampler ends with it: it must
  // not keep the benchmark's process alive.
  child.once('exit', () => clearInterval(sampler));
  return {
    child,
    smtpPort: Number(/smtp listener on [^:]+:(\d+)/.exec(err)![1]),
    http: `http://${/http listener on (\S+)/.exec(err)![1]}`,
    peakRssMb: () => Math.round(peak),
    output: () => err,
    async stop() {
      clearInterval(sampler);
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/**
 * A policy for one scenario: listeners on free ports, spool and logs under `dir`. `more` adds
 * Lua to `init` and fields to the egress path and queue config tables (`key = value, …`).
 */
export function benchPolicy(
  dir: string,
  protocol: string,
  more: { readonly init?: string; readonly path?: string; readonly queue?: string } = {},
): string {
  return `
local kumo = require 'kumo'
kumo.on('init', function()
  kumo.start_esmtp_listener { listen = '127.0.0.1:0', relay_hosts = { '127.0.0.0/8' }, max_messages_per_connection = 1000000 }
  kumo.start_http_listener { listen = '127.0.0.1:0' }
  kumo.define_spool { name = 'data', path = '${dir}/spool/data' }
  kumo.define_spool { name = 'meta', path = '${dir}/spool/meta' }
  kumo.configure_local_logs { log_dir = '${dir}/logs' }
  ${more.init ?? ''}
end)
kumo.on('get_egress_path_config', function()
  return kumo.make_egress_path { prohibited_hosts = {}, enable_tls = 'Disabled', connection_limit = 20, ${more.path ?? ''} }
end)
kumo.on('get_queue_config', function()
  return kumo.make_queue_config { protocol = ${protocol}, ${more.queue ?? ''} }
end)
kumo.on('make.ok', function()
  local connection = {}
  function connection:send(message) return 'OK' end
  return connection
end)
`;
}
