// pnpm bench: the daemon end to end, scenario by scenario, optionally beside Postfix and Haraka
// in the same run. Loopback only; every loop bounded in count and time. See docs/performance.md.
//
//   pnpm bench [--vs-postfix] [--vs-haraka] [--haraka-nodes 1] [--haraka-home DIR]
//              [--scenarios relay,maildir,lua,http] [--sizes 4096,32768]
//              [--modes per-connection,reuse] [--n 20000] [--conc 20] [--timeout 300] [--no-build]
//
//   --vs-postfix    Postfix (Debian's package) in the same run: a relay to the same sink per size
//                   and mode, and, when the maildir scenario is selected, virtual(8) delivering
//                   the same messages into a Maildir on the same filesystem. "vs Postfix" divides
//                   Sterna's maildir rows by Postfix's Maildir rate, the others by its relay rate.
//   --vs-haraka     Haraka (npm, installed into --haraka-home) in the same run, relay only, in
//                   two modes: `queue` (its outbound queue on disk) and `forward`
//                   (queue/smtp_forward); "vs Haraka" divides Sterna's relay rows by both.
//   --haraka-nodes  Haraka's smtp.ini nodes= (0: no cluster; n: cluster master + n workers).
//   --haraka-home   where Haraka is installed and kept (default /tmp/sterna-bench-haraka).
import { statSync } from 'node:fs';
import { chmod, chown, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchPolicy, buildDaemon, startDaemon } from './lib/daemon.js';
import {
  createHarakaInstance,
  ensureHaraka,
  freeLoopbackPort,
  HARAKA_HOME,
  HARAKA_VERSION,
  type HarakaMode,
  startHaraka,
} from './lib/haraka.js';
import { httpInject, type LoadResult, perConnection, reusedConnections } from './lib/load.js';
import {
  configurePostfix,
  configurePostfixMaildir,
  ensurePostfix,
  maildirOwner,
  postfixRssMb,
  postfixVersion,
  startPostfix,
  stopPostfix,
} from './lib/postfix.js';
import { writeResults } from './lib/results.js';
import { type Sink, startSink } from './lib/sink.js';

const { values } = parseArgs({
  options: {
    'vs-postfix': { type: 'boolean', default: false },
    'vs-haraka': { type: 'boolean', default: false },
    'haraka-nodes': { type: 'string', default: '1' },
    'haraka-home': { type: 'string', default: HARAKA_HOME },
    scenarios: { type: 'string', default: 'relay,maildir,lua,http' },
    sizes: { type: 'string', default: '4096,32768' },
    modes: { type: 'string', default: 'per-connection,reuse' },
    n: { type: 'string', default: '20000' },
    conc: { type: 'string', default: '20' },
    timeout: { type: 'string', default: '300' },
    'no-build': { type: 'boolean', default: false },
  },
});
const root = fileURLToPath(new URL('..', import.meta.url));
const N = Number(values.n);
const CONC = Number(values.conc);
const TIMEOUT_MS = Number(values.timeout) * 1000;
const WARMUP = Math.min(500, Math.ceil(N / 10));
const scenarios = values.scenarios!.split(',');
const sizes = values.sizes!.split(',').map(Number);
const modes = values.modes!.split(',') as ('per-connection' | 'reuse')[];
const HARAKA_NODES = Number(values['haraka-nodes']);
// The domain bench/lib/load.ts addresses every message to (user…@bench.example).
const RECIPIENT_DOMAIN = 'bench.example';
const postfixMaildir = values['vs-postfix'] && scenarios.includes('maildir');

interface Cell {
  system: 'sterna' | 'postfix' | 'haraka';
  /** Sterna: relay, maildir, lua, http; Postfix: relay, maildir; Haraka: queue, forward. */
  scenario: string;
  mode: string;
  size: number;
  messages: number;
  delivered: number;
  injectRate: number;
  endToEndRate: number;
  dataAckP50: number;
  dataAckP99: number;
  peakRssMb: number;
}

const pct = (xs: number[], p: number) =>
  Math.round(
    ([...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0) * 10,
  ) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`${line}\n`);

function load(mode: string, port: number, n: number, size: number): Promise<LoadResult> {
  return mode === 'reuse'
    ? reusedConnections(port, n, size, CONC, TIMEOUT_MS)
    : perConnection(port, n, size, CONC, TIMEOUT_MS);
}

// Waits until `done()` reaches `target`, showing progress; bounded by the timeout.
async function until(
  label: string,
  done: () => Promise<number> | number,
  target: number,
  started: number,
): Promise<number> {
  let last = -1;
  while (performance.now() - started < TIMEOUT_MS) {
    const now = await done();
    if (now !== last) process.stderr.write(`\r  ${label}: ${now}/${target} delivered`);
    last = now;
    if (now >= target) break;
    await sleep(100);
  }
  process.stderr.write('\n');
  return Math.max(0, last);
}

async function countFiles(dir: string): Promise<number> {
  return (await readdir(dir).catch(() => [])).length;
}

async function deliveredMetric(http: string): Promise<number> {
  const text = await fetch(`${http}/metrics`).then(
    (r) => r.text(),
    () => '',
  );
  return Number(/^total_messages_delivered(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
}

async function sternaCell(scenario: string, mode: string, size: number, sink: Sink): Promise<Cell> {
  const dir = await mkdtemp(join(tmpdir(), `sterna-bench-${scenario}-`));
  const maildir = join(dir, 'maildir');
  const protocol = {
    relay: `{ smtp = { mx_list = { '127.0.0.1:${sink.port}' } } }`,
    http: `{ smtp = { mx_list = { '127.0.0.1:${sink.port}' } } }`,
    maildir: `{ maildir_path = '${maildir}' }`,
    lua: `{ custom_lua = { constructor = 'make.ok' } }`,
  }[scenario];
  if (!protocol) throw new Error(`unknown scenario ${scenario}`);
  const policy = join(dir, 'init.lua');
  await writeFile(policy, benchPolicy(dir, protocol));
  const daemon = await startDaemon(root, policy);
  const done = {
    relay: () => sink.count(),
    http: () => sink.count(),
    maildir: () => countFiles(join(maildir, 'new')),
    lua: () => deliveredMetric(daemon.http),
  }[scenario]!;
  const inject = (n: number) =>
    scenario === 'http'
      ? httpInject(daemon.http, n, size, 4, 100, TIMEOUT_MS)
      : load(mode, daemon.smtpPort, n, size);
  try {
    log(`sterna ${scenario} ${mode} ${size} B: warm-up ${WARMUP}`);
    const before = await done();
    await inject(WARMUP);
    await until('warm-up', async () => (await done()) - before, WARMUP, performance.now());
    const base = await done();
    log(
      `sterna ${scenario} ${mode} ${size} B: ${N} messages over ${scenario === 'http' ? '4 requests in flight × 100 recipients' : `${CONC} connections`}`,
    );
    const started = performance.now();
    const injected = await inject(N);
    const delivered = await until(
      `sterna ${scenario}`,
      async () => (await done()) - base,
      N,
      started,
    );
    const seconds = (performance.now() - started) / 1000;
    return {
      system: 'sterna',
      scenario,
      mode: scenario === 'http' ? 'http' : mode,
      size,
      messages: N,
      delivered,
      injectRate: Math.round(injected.accepted / injected.seconds),
      endToEndRate: Math.round(delivered / seconds),
      dataAckP50: pct(injected.dataAck, 0.5),
      dataAckP99: pct(injected.dataAck, 0.99),
      peakRssMb: daemon.peakRssMb(),
    };
  } finally {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on ${port}`);
}

/**
 * Measures a reference MTA already listening on `port`: a warm-up, then N messages, counted by
 * `done()` (the sink's count or the Maildir's files), with its memory sampled by `rssMb()`.
 */
async function anchorCell(
  system: 'postfix' | 'haraka',
  scenario: string,
  mode: string,
  size: number,
  port: number,
  done: () => Promise<number> | number,
  rssMb: () => number,
): Promise<Cell> {
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb())), 500);
  try {
    const label = `${system} ${scenario}`;
    log(`${label} ${mode} ${size} B: warm-up ${WARMUP}`);
    const before = await done();
    await load(mode, port, WARMUP, size);
    await until('warm-up', async () => (await done()) - before, WARMUP, performance.now());
    const base = await done();
    log(`${label} ${mode} ${size} B: ${N} messages over ${CONC} connections`);
    const started = performance.now();
    const injected = await load(mode, port, N, size);
    const delivered = await until(label, async () => (await done()) - base, N, started);
    const seconds = (performance.now() - started) / 1000;
    return {
      system,
      scenario,
      mode,
      size,
      messages: N,
      delivered,
      injectRate: Math.round(injected.accepted / injected.seconds),
      endToEndRate: Math.round(delivered / seconds),
      dataAckP50: pct(injected.dataAck, 0.5),
      dataAckP99: pct(injected.dataAck, 0.99),
      peakRssMb: Math.max(peak, rssMb()),
    };
  } finally {
    clearInterval(sampler);
  }
}

/** Postfix relaying to the sink, or (`maildir`) delivering with virtual(8) into a Maildir. */
async function postfixCell(
  scenario: 'relay' | 'maildir',
  mode: string,
  size: number,
  sink: Sink,
): Promise<Cell> {
  const port = await freeLoopbackPort();
  let base: string | undefined;
  let done: () => Promise<number> | number = () => sink.count();
  if (scenario === 'maildir') {
    // virtual(8) writes as an unprivileged user: the base directory is theirs.
    base = await mkdtemp(join(tmpdir(), 'sterna-bench-postfix-maildir-'));
    const owner = maildirOwner();
    await chown(base, owner.uid, owner.gid);
    await chmod(base, 0o755);
    configurePostfixMaildir(port, sink.port, RECIPIENT_DOMAIN, base, owner);
    const newDir = join(base, 'maildir', 'new');
    done = () => countFiles(newDir);
  } else configurePostfix(port, sink.port);
  try {
    startPostfix();
    await waitForPort(port);
    return await anchorCell('postfix', scenario, mode, size, port, done, postfixRssMb);
  } finally {
    stopPostfix();
    if (base) await rm(base, { recursive: true, force: true });
  }
}

/** Haraka in `queue` or `forward` mode relaying to the sink; a fresh instance per cell. */
async function harakaCell(
  harakaMode: HarakaMode,
  mode: string,
  size: number,
  sink: Sink,
): Promise<Cell> {
  const dir = join(await mkdtemp(join(tmpdir(), `sterna-bench-haraka-${harakaMode}-`)), 'haraka');
  const port = await freeLoopbackPort();
  const home = values['haraka-home']!;
  let haraka: Awaited<ReturnType<typeof startHaraka>> | undefined;
  try {
    await createHarakaInstance(
      dir,
      { mode: harakaMode, nodes: HARAKA_NODES, port, sinkPort: sink.port },
      home,
    );
    haraka = await startHaraka(dir, port, home);
    const cell = await anchorCell('haraka', harakaMode, mode, size, port, sink.count, haraka.rssMb);
    if (cell.delivered < cell.messages) log(`haraka's log ends with:\n${haraka.logTail()}`);
    return cell;
  } finally {
    await haraka?.stop();
    await rm(join(dir, '..'), { recursive: true, force: true });
  }
}

if (!values['no-build']) buildDaemon(root);
if (values['vs-postfix']) ensurePostfix();
if (values['vs-haraka']) ensureHaraka(values['haraka-home']);
if (postfixMaildir) {
  // Same disk: Postfix's queue, its Maildir and Sterna's spool and Maildir (all under tmpdir()).
  const spool = statSync('/var/spool/postfix').dev;
  if (statSync(tmpdir()).dev !== spool)
    log(`warning: ${tmpdir()} and /var/spool/postfix are on different filesystems`);
}
const sink = await startSink();
log(`sink: ${sink.kind} on 127.0.0.1:${sink.port}`);
const cells: Cell[] = [];
try {
  for (const size of sizes) {
    for (const mode of modes) {
      if (values['vs-postfix']) cells.push(await postfixCell('relay', mode, size, sink));
      if (postfixMaildir) cells.push(await postfixCell('maildir', mode, size, sink));
      if (values['vs-haraka'])
        for (const harakaMode of ['queue', 'forward'] as const)
          cells.push(await harakaCell(harakaMode, mode, size, sink));
      for (const scenario of scenarios) {
        if (scenario === 'http' && mode !== modes[0]) continue; // HTTP has no SMTP connection mode
        cells.push(await sternaCell(scenario, mode, size, sink));
      }
    }
  }
} finally {
  await sink.close();
}

// Postfix's cell a Sterna row is compared with: its Maildir for maildir rows, else its relay
// (HTTP injection against the relay in the first mode run).
const reference = (c: Cell) =>
  cells.find(
    (p) =>
      p.system === 'postfix' &&
      p.scenario === (c.scenario === 'maildir' ? 'maildir' : 'relay') &&
      p.size === c.size &&
      (p.mode === c.mode || c.mode === 'http'),
  );
const ratio = (c: Cell, ref: Cell | undefined) =>
  ref && ref.endToEndRate > 0 ? `${(c.endToEndRate / ref.endToEndRate).toFixed(2)}×` : '—';
const harakaRatios = (c: Cell) => {
  if (c.system !== 'sterna' || c.scenario !== 'relay') return '';
  const haraka = (scenario: HarakaMode) =>
    cells.find(
      (h) =>
        h.system === 'haraka' && h.scenario === scenario && h.size === c.size && h.mode === c.mode,
    );
  return `${ratio(c, haraka('queue'))} / ${ratio(c, haraka('forward'))}`;
};
const withHaraka = values['vs-haraka'];
console.log(
  `\nsystem | scenario | mode | size | delivered | inject msg/s | end-to-end msg/s | vs Postfix${withHaraka ? ' | vs Haraka (queue / forward)' : ''} | DATA ack p50 / p99 ms | peak RSS MB`,
);
console.log(`---|---|---|---|---|---|---|---${withHaraka ? '|---' : ''}|---|---`);
for (const c of cells) {
  const ref = reference(c);
  const vsPostfix = ref && c.system === 'sterna' ? ratio(c, ref) : '';
  const vsHaraka = withHaraka ? ` | ${harakaRatios(c)}` : '';
  console.log(
    `${c.system} | ${c.scenario} | ${c.mode} | ${c.size} | ${c.delivered}/${c.messages} | ${c.injectRate} | ${c.endToEndRate} | ${vsPostfix}${vsHaraka} | ${c.dataAckP50} / ${c.dataAckP99} | ${c.peakRssMb}`,
  );
}
await writeResults(root, 'bench', {
  n: N,
  conc: CONC,
  ...(values['vs-postfix'] ? { postfix: postfixVersion() } : {}),
  ...(withHaraka ? { haraka: { version: HARAKA_VERSION, nodes: HARAKA_NODES } } : {}),
  cells,
});
