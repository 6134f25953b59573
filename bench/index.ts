// pnpm bench: the daemon end to end, scenario by scenario, optionally beside Postfix in the same
// run. Loopback only; every loop bounded in count and time. See docs/performance.md.
//
//   pnpm bench [--vs-postfix] [--scenarios relay,maildir,lua,http] [--sizes 4096,32768]
//              [--modes per-connection,reuse] [--n 20000] [--conc 20] [--timeout 300] [--no-build]
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchPolicy, buildDaemon, startDaemon } from './lib/daemon.js';
import { httpInject, type LoadResult, perConnection, reusedConnections } from './lib/load.js';
import {
  configurePostfix,
  ensurePostfix,
  postfixRssMb,
  startPostfix,
  stopPostfix,
} from './lib/postfix.js';
import { writeResults } from './lib/results.js';
import { type Sink, startSink } from './lib/sink.js';

const { values } = parseArgs({
  options: {
    'vs-postfix': { type: 'boolean', default: false },
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

interface Cell {
  system: 'sterna' | 'postfix';
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

async function postfixCell(mode: string, size: number, sink: Sink): Promise<Cell> {
  const port = 2600 + Math.floor(Math.random() * 300);
  configurePostfix(port, sink.port);
  startPostfix();
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, postfixRssMb())), 500);
  try {
    await waitForPort(port);
    log(`postfix relay ${mode} ${size} B: warm-up ${WARMUP}`);
    const before = sink.count();
    await load(mode, port, WARMUP, size);
    await until('warm-up', () => sink.count() - before, WARMUP, performance.now());
    const base = sink.count();
    log(`postfix relay ${mode} ${size} B: ${N} messages over ${CONC} connections`);
    const started = performance.now();
    const injected = await load(mode, port, N, size);
    const delivered = await until('postfix relay', () => sink.count() - base, N, started);
    const seconds = (performance.now() - started) / 1000;
    return {
      system: 'postfix',
      scenario: 'relay',
      mode,
      size,
      messages: N,
      delivered,
      injectRate: Math.round(injected.accepted / injected.seconds),
      endToEndRate: Math.round(delivered / seconds),
      dataAckP50: pct(injected.dataAck, 0.5),
      dataAckP99: pct(injected.dataAck, 0.99),
      peakRssMb: peak,
    };
  } finally {
    clearInterval(sampler);
    stopPostfix();
  }
}

if (!values['no-build']) buildDaemon(root);
if (values['vs-postfix']) ensurePostfix();
const sink = await startSink();
log(`sink: ${sink.kind} on 127.0.0.1:${sink.port}`);
const cells: Cell[] = [];
try {
  for (const size of sizes) {
    for (const mode of modes) {
      if (values['vs-postfix']) cells.push(await postfixCell(mode, size, sink));
      for (const scenario of scenarios) {
        if (scenario === 'http' && mode !== modes[0]) continue; // HTTP has no SMTP connection mode
        cells.push(await sternaCell(scenario, mode, size, sink));
      }
    }
  }
} finally {
  await sink.close();
}

const reference = (c: Cell) =>
  cells.find(
    (p) => p.system === 'postfix' && p.size === c.size && (p.mode === c.mode || c.mode === 'http'),
  );
console.log(
  '\nsystem | scenario | mode | size | delivered | inject msg/s | end-to-end msg/s | vs Postfix | DATA ack p50 / p99 ms | peak RSS MB',
);
console.log('---|---|---|---|---|---|---|---|---|---');
for (const c of cells) {
  const ref = reference(c);
  const ratio =
    ref && c.system === 'sterna' && ref.endToEndRate > 0
      ? `${(c.endToEndRate / ref.endToEndRate).toFixed(2)}×`
      : '';
  console.log(
    `${c.system} | ${c.scenario} | ${c.mode} | ${c.size} | ${c.delivered}/${c.messages} | ${c.injectRate} | ${c.endToEndRate} | ${ratio} | ${c.dataAckP50} / ${c.dataAckP99} | ${c.peakRssMb}`,
  );
}
await writeResults(root, 'bench', {
  n: N,
  conc: CONC,
  cells,
});
