// Where the time goes, per stage (issue 22): the relay daemon under `--cpu-prof` (every thread
// writes its own profile), loaded with N messages to a sink after a warm-up. Two figures:
// - CPU per message across all threads, from /proc (user + system, the kernel's share too);
// - the profiles' samples inside the load window, each charged to the stage of its nearest
//   caller that belongs to one (reception, spool, policy, queue, driver, log, …), per thread.
// Loopback only; every loop bounded in count and time.
//   npx tsx --conditions=@sterna/source bench/profile.ts [--n 10000] [--conc 20] [--size 4096]
//     [--mode per-connection|reuse] [--keep DIR] [--timeout 300] [--no-build]
// Without the profiler (`--no-profile`), only the rate and the CPU per message, whose figures the
// profiler would inflate; with `--baseline DIR`, another checkout's build (built there unless
// `--no-build`) in alternating rounds (`--rounds R`, default 3), each round a fresh daemon of each.
// With `--syscalls` (implies `--no-profile`), `strace -f -c` counts the daemon's system calls in
// the load window, per message: exact where CPU time is noisy, though strace slows the daemon.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchPolicy, buildDaemon, startDaemon } from './lib/daemon.js';
import { perConnection, reusedConnections } from './lib/load.js';
import { readProcUsage } from './lib/proc-usage.js';
import { writeResults } from './lib/results.js';
import { startSink } from './lib/sink.js';
import { median } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '10000' },
    conc: { type: 'string', default: '20' },
    size: { type: 'string', default: '4096' },
    mode: { type: 'string', default: 'per-connection' },
    keep: { type: 'string' },
    timeout: { type: 'string', default: '300' },
    'no-build': { type: 'boolean', default: false },
    'no-profile': { type: 'boolean', default: false },
    syscalls: { type: 'boolean', default: false },
    baseline: { type: 'string' },
    rounds: { type: 'string', default: '3' },
  },
});
const root = fileURLToPath(new URL('..', import.meta.url));
const N = Number(values.n);
const CONC = Number(values.conc);
const SIZE = Number(values.size);
const TIMEOUT_MS = Number(values.timeout) * 1000;
const MODE = values.mode as 'per-connection' | 'reuse';
if (MODE !== 'per-connection' && MODE !== 'reuse')
  throw new Error(`--mode: expected per-connection or reuse, not '${MODE}'`);
const WARMUP = Math.min(1000, Math.ceil(N / 10));
const SYSCALLS = values.syscalls;
const PROFILE = !values['no-profile'] && !SYSCALLS;
const BASELINE = values.baseline;
const ROUNDS = Number(values.rounds);
if (!PROFILE && (!Number.isInteger(ROUNDS) || ROUNDS < 1))
  throw new Error(`--rounds: expected a whole number ≥ 1, not '${values.rounds}'`);
if (PROFILE && BASELINE)
  throw new Error('--baseline compares CPU per message without the profiler: add --no-profile');
const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A V8 CPU profile as `--cpu-prof` writes it. */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string };
    children?: number[];
  }[];
  /** µs, V8's monotonic clock (CLOCK_MONOTONIC on Linux, as process.hrtime). */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The stages of a message's way through the daemon, in the order it meets them. */
const STAGES = [
  'reception',
  'hand-over',
  'spool',
  'policy',
  'queue',
  'driver',
  'log',
  'metrics',
  'gc',
  'other',
] as const;
type Stage = (typeof STAGES)[number];

// A frame's own stage, when its file says it (Sterna's sources or a library only one stage uses).
function stageOf(url: string, name: string): Stage | undefined {
  if (name === '(garbage collector)') return 'gc';
  if (url === '') return undefined;
  const at = (part: string) => url.includes(part);
  if (at('/mta/dist/smtp/listener-thread') || at('/mta/dist/smtp/thread-protocol'))
    return 'hand-over';
  if (at('/smtp-server/') || at('/mta/dist/smtp/') || at('/mta/dist/trace/')) return 'reception';
  if (at('/mta/dist/reception/') || at('/mta/dist/http/')) return 'reception';
  if (at('/mta/dist/spool/')) return 'spool';
  if (at('/packages/lua/') || at('/wasmoon/') || at('/mta/dist/policy/')) return 'policy';
  if (at('/mta/dist/queue/')) return 'queue';
  if (at('/protocol-smtp/') || at('/nodemailer/') || at('/protocol-maildir/')) return 'driver';
  if (at('/protocol-lua/')) return 'driver';
  if (at('/mta/dist/logs/') || at('zstd')) return 'log';
  if (at('/mta/dist/observe/') || at('/prom-client/')) return 'metrics';
  return undefined;
}

/** µs of samples per stage inside [from, to] (µs, monotonic), and the idle share. */
function chargeStages(
  profile: CpuProfile,
  from: number,
  to: number,
): { stages: Map<Stage, number>; busy: number; idle: number; files: Map<string, number> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const memo = new Map<number, Stage>();
  const stageFor = (id: number): Stage => {
    const known = memo.get(id);
    if (known) return known;
    const path: number[] = [];
    let at: number | undefined = id;
    let found: Stage = 'other';
    while (at !== undefined) {
      const seen = memo.get(at);
      if (seen) {
        found = seen;
        break;
      }
      path.push(at);
      const node = byId.get(at)!;
      const own = stageOf(node.callFrame.url, node.callFrame.functionName);
      if (own) {
        found = own;
        break;
      }
      at = parent.get(at);
    }
    for (const p of path) memo.set(p, found);
    return found;
  };
  const stages = new Map<Stage, number>();
  const files = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    if (t < from || t > to) continue;
    const node = byId.get(profile.samples[i]!)!;
    const name = node.callFrame.functionName;
    if (name === '(idle)' || name === '(program)') {
      if (name === '(idle)') idle += delta;
      continue;
    }
    busy += delta;
    const stage = stageFor(node.id);
    stages.set(stage, (stages.get(stage) ?? 0) + delta);
    const file =
      node.callFrame.url.replace(/^.*\/node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?/, '') ||
      name;
    files.set(file, (files.get(file) ?? 0) + delta);
  }
  return { stages, busy, idle, files };
}

const nowMicros = () => Number(process.hrtime.bigint() / 1000n);

/** What the daemon spent in the load window: µs bounds (monotonic), CPU and wall seconds. */
interface LoadWindow {
  from: number;
  to: number;
  cpuSeconds: number;
  seconds: number;
  dataAck: number[];
  /** With --syscalls: each system call's count in the window. */
  syscalls?: Map<string, number>;
}

/** Attaches `strace -f -c` to `pid`; `stop()` ends it and reads its count of each call. */
async function countSyscalls(pid: number, dir: string) {
  const out = join(dir, 'strace.txt');
  const child = spawn('strace', ['-f', '-c', '-o', out, '-p', String(pid)], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', (error) =>
      reject(new Error(`strace: ${error.message} (is it installed?)`)),
    );
    child.once('exit', () => resolve());
  });
  // strace attaches to every thread before it counts; give it a moment.
  await Promise.race([exited, sleep(1000)]);
  if (child.exitCode !== null) throw new Error(`strace exited at once (code ${child.exitCode})`);
  return {
    async stop(): Promise<Map<string, number>> {
      child.kill('SIGINT');
      await exited;
      const counts = new Map<string, number>();
      // "% time  seconds  usecs/call  calls  [errors]  syscall"
      for (const line of (await readFile(out, 'utf8')).split('\n')) {
        const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?([a-z_0-9]+)\s*$/.exec(line);
        if (m) counts.set(m[2]!, Number(m[1]));
      }
      return counts;
    },
  };
}

/** One daemon of `checkout`'s build: a warm-up, then N messages to a fresh sink, measured. */
async function measure(checkout: string, dir: string, profileDir?: string): Promise<LoadWindow> {
  const sink = await startSink();
  const policy = join(dir, 'init.lua');
  await writeFile(
    policy,
    benchPolicy(dir, `{ smtp = { mx_list = { '127.0.0.1:${sink.port}' } } }`),
  );
  const daemon = await startDaemon(
    checkout,
    policy,
    profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  ).catch(async (error: unknown) => {
    await sink.close();
    throw error;
  });
  const load = (n: number) =>
    MODE === 'reuse'
      ? reusedConnections(daemon.smtpPort, n, SIZE, CONC, TIMEOUT_MS)
      : perConnection(daemon.smtpPort, n, SIZE, CONC, TIMEOUT_MS);
  async function delivered(target: number): Promise<number> {
    const deadline = performance.now() + TIMEOUT_MS;
    while (sink.count() < target && performance.now() < deadline) await sleep(20);
    return sink.count();
  }
  try {
    log(`warm-up: ${WARMUP} messages`);
    await load(WARMUP);
    await delivered(WARMUP);
    await sleep(2000);
    const base = sink.count();
    const strace = SYSCALLS ? await countSyscalls(daemon.child.pid!, dir) : undefined;
    const before = readProcUsage(daemon.child.pid!, 0)!;
    const from = nowMicros();
    const started = performance.now();
    log(`load: ${N} messages, ${MODE}, ${CONC} connections, ${SIZE} B`);
    const result = await load(N);
    const got = (await delivered(base + N)) - base;
    const to = nowMicros();
    const after = readProcUsage(daemon.child.pid!, 0)!;
    const syscalls = await strace?.stop();
    if (got < N) throw new Error(`only ${got} of ${N} delivered within the time-out`);
    return {
      from,
      to,
      cpuSeconds: after.cpuSeconds - before.cpuSeconds,
      seconds: (performance.now() - started) / 1000,
      dataAck: result.dataAck,
      ...(syscalls ? { syscalls } : {}),
    };
  } finally {
    await daemon.stop();
    await sink.close();
  }
}

const rateOf = (w: LoadWindow) => Math.round(N / w.seconds);
const cpuMsOf = (w: LoadWindow) => (w.cpuSeconds * 1000) / N;

if (!values['no-build']) {
  buildDaemon(root);
  if (BASELINE) buildDaemon(BASELINE);
}
const dir = await mkdtemp(join(tmpdir(), 'sterna-profile-'));

if (!PROFILE) {
  // CPU per message as the daemon spends it, without the profiler's own cost; with a baseline,
  // its build and this one take turns, a fresh daemon each round.
  const sides = BASELINE ? [{ name: 'baseline', checkout: BASELINE }] : [];
  sides.push({ name: 'this', checkout: root });
  const runs = new Map<string, LoadWindow[]>(sides.map((s) => [s.name, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const side of sides) {
      const runDir = await mkdtemp(join(dir, `${side.name}-`));
      log(`round ${round}/${ROUNDS}: ${side.name} (${side.checkout})`);
      const w = await measure(side.checkout, runDir);
      runs.get(side.name)!.push(w);
      log(`  ${rateOf(w)} msg/s, ${cpuMsOf(w).toFixed(3)} CPU-ms per message`);
    }
  }
  console.log(
    `\n${N} messages a round, ${MODE}, ${SIZE} B, ${CONC} connections, no profiler` +
      `${SYSCALLS ? ' (strace attached: slower)' : ''}; daemon CPU per message across all ` +
      'threads (user + system, /proc)',
  );
  console.log(
    '\nbuild | msg/s per round | CPU-ms per message per round | median msg/s | median CPU-ms',
  );
  console.log('---|---|---|---|---');
  for (const side of sides) {
    const ws = runs.get(side.name)!;
    console.log(
      `${side.name} (${side.checkout}) | ${ws.map(rateOf).join(', ')} | ` +
        `${ws.map((w) => cpuMsOf(w).toFixed(3)).join(', ')} | ${Math.round(median(ws.map(rateOf)))} | ` +
        `${median(ws.map(cpuMsOf)).toFixed(3)}`,
    );
  }
  // System calls per message: the mean over the rounds, the calls any build made at least
  // 0.05 times a message, busiest first.
  const perMessage = (side: string, call: string) => {
    const ws = runs.get(side)!;
    return ws.reduce((sum, w) => sum + (w.syscalls?.get(call) ?? 0) / N, 0) / ws.length;
  };
  const calls = SYSCALLS
    ? [
        ...new Set(
          sides.flatMap((side) => runs.get(side.name)!.flatMap((w) => [...w.syscalls!.keys()])),
        ),
      ]
        .filter((call) => sides.some((side) => perMessage(side.name, call) >= 0.05))
        .sort((a, b) => perMessage(sides.at(-1)!.name, b) - perMessage(sides.at(-1)!.name, a))
    : [];
  if (SYSCALLS) {
    console.log(
      '\nsystem calls per message (strace -f -c over the load window, mean of the rounds)',
    );
    console.log(`\ncall | ${sides.map((side) => side.name).join(' | ')}`);
    console.log(`---|${sides.map(() => '---').join('|')}`);
    for (const call of calls)
      console.log(
        `${call} | ${sides.map((side) => perMessage(side.name, call).toFixed(2)).join(' | ')}`,
      );
  }
  await writeResults(root, 'profile-cpu', {
    n: N,
    conc: CONC,
    size: SIZE,
    mode: MODE,
    rounds: ROUNDS,
    builds: sides.map((side) => ({
      name: side.name,
      checkout: side.checkout,
      rates: runs.get(side.name)!.map(rateOf),
      cpuMsPerMessage: runs.get(side.name)!.map(cpuMsOf),
      ...(SYSCALLS
        ? {
            syscallsPerMessage: Object.fromEntries(calls.map((c) => [c, perMessage(side.name, c)])),
          }
        : {}),
    })),
  });
  await rm(dir, { recursive: true, force: true });
  process.exit(0);
}

const profiles = values.keep ?? join(dir, 'profiles');
await mkdir(profiles, { recursive: true });
const window = await measure(root, dir, profiles);

// One profile per thread: the main thread's is the largest of the daemon's own process.
const files = (await readdir(profiles)).filter((f) => f.endsWith('.cpuprofile'));
const threads: { file: string; busy: number; idle: number; stages: Map<Stage, number> }[] = [];
const byFile = new Map<string, number>();
for (const file of files) {
  const profile = JSON.parse(await readFile(join(profiles, file), 'utf8')) as CpuProfile;
  const charged = chargeStages(profile, window.from, window.to);
  if (charged.busy + charged.idle === 0) continue; // a thread that was not alive in the window
  threads.push({ file, ...charged });
  for (const [f, us] of charged.files) byFile.set(f, (byFile.get(f) ?? 0) + us);
}
threads.sort((a, b) => b.busy - a.busy);
const perMsg = (us: number) => (us / N).toFixed(1);
const rate = rateOf(window);
const cpuMs = cpuMsOf(window).toFixed(3);
console.log(
  `\n${N} messages, ${MODE}, ${SIZE} B, ${CONC} connections: ${rate} msg/s end to end; ` +
    `daemon CPU ${cpuMs} ms per message (all threads, user + system, /proc)`,
);
console.log(
  `\nstage | ${threads.map((_, i) => `thread ${i + 1} µs/msg`).join(' | ')} | total µs/msg`,
);
console.log(`---|${threads.map(() => '---').join('|')}|---`);
const totals: Record<string, number> = {};
for (const stage of STAGES) {
  const row = threads.map((t) => t.stages.get(stage) ?? 0);
  const sum = row.reduce((a, b) => a + b, 0);
  totals[stage] = sum;
  if (sum === 0) continue;
  console.log(`${stage} | ${row.map(perMsg).join(' | ')} | ${perMsg(sum)}`);
}
const busy = threads.reduce((a, t) => a + t.busy, 0);
console.log(
  `**profiled, busy** | ${threads.map((t) => perMsg(t.busy)).join(' | ')} | **${perMsg(busy)}**`,
);
console.log(
  `idle share | ${threads.map((t) => `${Math.round((t.idle / Math.max(1, t.idle + t.busy)) * 100)} %`).join(' | ')} |`,
);
const kernel = window.cpuSeconds * 1e6 - busy;
console.log(
  `\nnot in the profiles (kernel time of system calls, V8's compiler threads, libuv's pool): ${perMsg(Math.max(0, kernel))} µs/msg`,
);
console.log('\ntop files, µs/msg (self time, all threads):');
for (const [file, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 20))
  console.log(`  ${perMsg(us).padStart(7)}  ${file}`);
await writeResults(root, 'profile', {
  n: N,
  conc: CONC,
  size: SIZE,
  mode: MODE,
  rate,
  cpuMsPerMessage: Number(cpuMs),
  stagesMicrosPerMessage: Object.fromEntries(STAGES.map((s) => [s, (totals[s] ?? 0) / N])),
  threads: threads.map((t) => ({
    file: t.file,
    busyMicrosPerMessage: t.busy / N,
    idleShare: t.idle / Math.max(1, t.idle + t.busy),
  })),
});
if (!values.keep) await rm(dir, { recursive: true, force: true });
