// Haraka (the Node.js MTA) as a second reference beside Postfix: installed from npm into a cache
// directory outside the repository, one instance per bench cell made with `haraka -i`, and
// configured like the project's shared anchor harness (../shared/bench/mta/haraka-setup.sh):
//   queue   — relay ACL 127.0.0.1, Haraka's outbound queue on disk, every MX forced to the sink
//             (plugin bench_route);
//   forward — relay ACL 127.0.0.1, queue/smtp_forward to the sink with enable_outbound=true (the
//             message goes on while the client waits after its final dot; no local queue).
// It runs with bench/lib/haraka/dns-guard.cjs preloaded, so no DNS query leaves the loopback.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HARAKA_VERSION = '3.3.4';
/** Where Haraka is installed (`npm install Haraka@3.3.4`) by default, kept between runs. */
export const HARAKA_HOME = join(tmpdir(), 'sterna-bench-haraka');
export type HarakaMode = 'queue' | 'forward';

const here = fileURLToPath(new URL('./haraka/', import.meta.url));
const packageDir = (home: string) => join(home, 'node_modules', 'Haraka');

/** The installed Haraka's version, or undefined. */
function installedVersion(home: string): string | undefined {
  try {
    return JSON.parse(readFileSync(join(packageDir(home), 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

/** Installs Haraka from npm into `home` unless that version is there already. */
export function ensureHaraka(home = HARAKA_HOME): void {
  if (installedVersion(home) === HARAKA_VERSION) return;
  process.stderr.write(`installing Haraka ${HARAKA_VERSION} from npm into ${home}…\n`);
  mkdirSync(home, { recursive: true });
  if (!existsSync(join(home, 'package.json')))
    execFileSync('npm', ['init', '-y'], { cwd: home, stdio: 'ignore' });
  execFileSync(
    'npm',
    ['install', '--no-audit', '--no-fund', '--omit=dev', `Haraka@${HARAKA_VERSION}`],
    { cwd: home, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (installedVersion(home) !== HARAKA_VERSION)
    throw new Error(`Haraka ${HARAKA_VERSION} did not install into ${home}`);
}

/** A TCP port on 127.0.0.1 that nothing listens on now. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface HarakaInstance {
  readonly mode: HarakaMode;
  /** smtp.ini nodes=: 0 = one process without cluster, n = cluster master + n workers. */
  readonly nodes: number;
  readonly port: number;
  readonly sinkPort: number;
}

/** The config files an instance gets beside `haraka -i`'s defaults, by name. */
export function harakaConfig(i: HarakaInstance): Record<string, string> {
  const files: Record<string, string> = {
    me: 'mta.bench.test\n',
    'smtp.ini': [
      '[main]',
      `listen=127.0.0.1:${i.port}`,
      `nodes=${i.nodes}`,
      '; no STUN discovery of a public address (it would leave the machine)',
      'public_ip=127.0.0.1',
      '',
    ].join('\n'),
    'relay.ini': '[relay]\nacl=true\n',
    relay_acl_allow: '127.0.0.1/32\n',
    'outbound.ini': '[main]\n; the MX is our own loopback sink\nlocal_mx_ok=true\n',
  };
  if (i.mode === 'queue') {
    files.plugins = 'bench_rdns\nrelay\nbench_route\n';
    files['bench_route.ini'] = `host=127.0.0.1\nport=${i.sinkPort}\n`;
  } else {
    files.plugins = 'bench_rdns\nrelay\nqueue/smtp_forward\n';
    files['smtp_forward.ini'] = `host=127.0.0.1\nport=${i.sinkPort}\nenable_outbound=true\n`;
  }
  return files;
}

/** Creates an instance in `dir` (which must not exist yet) with `haraka -i`, then our config. */
export async function createHarakaInstance(
  dir: string,
  instance: HarakaInstance,
  home = HARAKA_HOME,
): Promise<void> {
  execFileSync(process.execPath, [join(packageDir(home), 'bin', 'haraka'), '-i', dir], {
    stdio: 'ignore',
  });
  for (const plugin of ['bench_rdns.js', 'bench_route.js'])
    copyFileSync(join(here, plugin), join(dir, 'plugins', plugin));
  for (const [name, text] of Object.entries(harakaConfig(instance)))
    await writeFile(join(dir, 'config', name), text);
}

export interface RunningHaraka {
  readonly pid: number;
  /** Resident memory summed over Haraka's processes (master and workers), MB, now. */
  rssMb(): number;
  /** The last lines of Haraka's own log (stdout and stderr). */
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

// Resident memory of `root` and every process below it, in kB.
function treeRssKb(root: number): number {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  let kb = 0;
  for (const pid of parentOf.keys()) {
    let p: number | undefined = pid;
    while (p !== undefined && p > 1 && p !== root) p = parentOf.get(p);
    if (p !== root) continue;
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone meanwhile
    }
  }
  return kb;
}

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

/**
 * Runs `haraka -c dir` in its own process group with the DNS guard preloaded, its log in
 * `dir/haraka.log`, and resolves once its listener answers (within 60 s).
 */
export async function startHaraka(
  dir: string,
  port: number,
  home = HARAKA_HOME,
): Promise<RunningHaraka> {
  const logFile = join(dir, 'haraka.log');
  const out = openSync(logFile, 'a');
  const guard = join(here, 'dns-guard.cjs');
  const child = spawn(process.execPath, [join(packageDir(home), 'bin', 'haraka'), '-c', dir], {
    cwd: dir,
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, NODE_OPTIONS: `--require ${guard}` },
  });
  const pid = child.pid!;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const logTail = (lines = 20) => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
      return true;
    } catch {
      return false; // nothing left in the group
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    signalGroup('SIGKILL'); // a worker the master left behind
  };
  const deadline = Date.now() + 60_000;
  while (!(await answers(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`Haraka did not start listening on ${port}:\n${logTail()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { pid, rssMb: () => Math.round(treeRssKb(pid) / 1024), logTail, stop };
}
