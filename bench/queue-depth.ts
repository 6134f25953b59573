// Queue depth: with the destination down, inject N messages over HTTP (100 recipients per
// request), measure the daemon's resident memory per queued message, then restart it and time
// how long it takes to find them all again: to `initialization complete` (the daemon queues the
// spool for up to a second before it goes on) and until every message is back in a queue: after
// kill -9 of the daemon that received them (the spool reads the latest index checkpoint it wrote
// while running and replays the log after it), after a clean stop (the checkpoint it wrote then),
// and after kill -9 of the daemon restarted from that (the same checkpoint, and the little log
// written since).
// With the daemon's inspector on loopback (`--no-inspect` to leave it off), each RSS reading is
// followed by one after a full garbage collection, with the main thread's heap beside it, so the
// resident memory splits into live heap, memory outside the heap, and the rest.
// Then the destination comes back (`--no-drain` to skip): a sink on loopback (Postfix's smtp-sink,
// installed when missing), the daemon restarted with a policy that routes to it, and, once every
// message is queued again, two measurements in that daemon: the relay rate of fresh mail (M
// messages injected over HTTP and delivered to the sink while the million wait, M = N / 20, at
// least 10,000), then the drain: an admin rebind with `always_flush` (what an operator runs when a
// provider is back: every matching message is due now), timed until the sink has every message.
// `--preload LIB` runs every daemon of the run with LD_PRELOAD=LIB: another malloc, such as
// Debian's libjemalloc2 (/usr/lib/x86_64-linux-gnu/libjemalloc.so.2), beside glibc's.
// `--env NAME=VALUE` (repeatable) sets a variable for every daemon of the run, e.g. glibc's
// malloc settings (`MALLOC_ARENA_MAX=2`).
// Loopback only; bounded.
//   npx tsx --conditions=@sterna/source bench/queue-depth.ts [--n 100000] [--no-build] [--no-inspect]
//     [--preload LIB] [--env NAME=VALUE]…
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildDaemon, startDaemon } from './lib/daemon.js';
import { freeLoopbackPort, heapAfterGc } from './lib/inspector-heap.js';
import { httpInject } from './lib/load.js';
import { ensurePostfix } from './lib/postfix.js';
import { type Sink, startSink } from './lib/sink.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    'no-build': { type: 'boolean', default: false },
    'no-inspect': { type: 'boolean', default: false },
    preload: { type: 'string' },
    env: { type: 'string', multiple: true, default: [] },
    'no-drain': { type: 'boolean', default: false },
  },
});
const N = Number(values.n);
const root = fileURLToPath(new URL('..', import.meta.url));
if (!values['no-build']) buildDaemon(root);
const dir = await mkdtemp(join(tmpdir(), 'sterna-depth-'));
const policy = join(dir, 'init.lua');
// Port 1 refuses connections: every message fails once and waits 20 minutes. The drain's
// daemon routes to the sink instead.
const writePolicy = (destination: string) =>
  writeFile(
    policy,
    `local kumo = require 'kumo'
kumo.on('init', function()
  kumo.start_esmtp_listener { listen = '127.0.0.1:0' }
  kumo.start_http_listener { listen = '127.0.0.1:0' }
  kumo.define_spool { name = 'data', path = '${dir}/spool' }
end)
kumo.on('get_egress_path_config', function() return kumo.make_egress_path { prohibited_hosts = {}, enable_tls = 'Disabled' } end)
kumo.on('get_queue_config', function() return kumo.make_queue_config { protocol = { smtp = { mx_list = { '${destination}' } } } } end)
`,
  );
await writePolicy('127.0.0.1:1');
const rssMb = async (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
// Waiting messages: those in scheduled queues plus those already handed to ready queues.
const waiting = async (http: string) =>
  [
    ...(await fetch(`${http}/metrics`).then((r) => r.text())).matchAll(
      /^(?:scheduled|ready)_count(?:\{[^}]*\})? (\d+)/gm,
    ),
  ].reduce((sum, m) => sum + Number(m[1]), 0);
// Messages waiting in scheduled queues (after their first attempt failed).
const scheduled = async (http: string) =>
  [
    ...(await fetch(`${http}/metrics`).then((r) => r.text())).matchAll(
      /^scheduled_count(?:\{[^}]*\})? (\d+)/gm,
    ),
  ].reduce((sum, m) => sum + Number(m[1]), 0);
// Every message the daemon holds (spooled, not yet delivered, bounced or expired).
const spooled = async (http: string) =>
  Number(
    /^message_count (\d+)/m.exec(await fetch(`${http}/metrics`).then((r) => r.text()))?.[1] ?? NaN,
  );
const INSPECT = !values['no-inspect'];
const PRELOAD = values.preload;
if (PRELOAD !== undefined && !existsSync(PRELOAD))
  throw new Error(
    `--preload ${PRELOAD}: no such file (Debian's jemalloc: apt-get install libjemalloc2)`,
  );
const ENV: Record<string, string> = PRELOAD === undefined ? {} : { LD_PRELOAD: PRELOAD };
for (const pair of values.env) {
  const eq = pair.indexOf('=');
  if (eq < 1) throw new Error(`--env ${pair}: expected NAME=VALUE`);
  ENV[pair.slice(0, eq)] = pair.slice(eq + 1);
}
let inspectPort: number | undefined;
const start = async (logLevel?: string) => {
  inspectPort = INSPECT ? await freeLoopbackPort() : undefined;
  return startDaemon(
    root,
    policy,
    inspectPort === undefined ? [] : [`--inspect=127.0.0.1:${inspectPort}`],
    logLevel,
    ENV,
  );
};
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
// After a full GC: the process's RSS, the main thread's heap (used / total) and its memory
// outside the heap (external, of which ArrayBuffers), MB.
const afterGc = async () => {
  if (inspectPort === undefined) return '-';
  const h = await heapAfterGc(inspectPort);
  return `${mb(h.rss)} | ${mb(h.heapUsed)} / ${mb(h.heapTotal)} | ${mb(h.external)} (${mb(h.arrayBuffers)})`;
};
const gcColumns = 'RSS after a full GC MB | heap used / total MB | external (ArrayBuffers) MB';
let daemon: Awaited<ReturnType<typeof startDaemon>> | undefined;
let sink: Sink | undefined;
// Until `done()` or `ms` have passed (bounded); false when time ran out.
const until = async (done: () => boolean | Promise<boolean>, ms: number, every = 100) => {
  const from = performance.now();
  while (!(await done())) {
    if (performance.now() - from > ms) return false;
    await new Promise((r) => setTimeout(r, every));
  }
  return true;
};
// The destination comes back: see the head of this file.
async function drain(queued: number) {
  ensurePostfix();
  sink = await startSink();
  await writePolicy(`127.0.0.1:${sink.port}`);
  daemon = await start('info');
  if (!(await until(() => /re-queued \d+ spooled messages in /.test(daemon!.output()), 600_000)))
    throw new Error('the drain daemon did not queue its spool within 10 minutes');
  // Fresh mail first, the million still waiting (due in 20 minutes): the relay rate to this
  // sink, from the first request to the last message at the sink.
  const fresh = Math.max(10_000, Math.round(queued / 20));
  const freshStart = performance.now();
  const freshInjected = await httpInject(daemon.http, fresh, 4096, 4, 100, 600_000);
  if (!(await until(() => sink!.count() >= freshInjected.accepted, 600_000)))
    throw new Error(`fresh mail: the sink has ${sink.count()} of ${freshInjected.accepted}`);
  const freshRate = freshInjected.accepted / ((performance.now() - freshStart) / 1000);
  const base = sink.count();
  // The drain: every waiting message due now.
  const drainStart = performance.now();
  const answer = await fetch(`${daemon.http}/api/admin/rebind/v1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 'the destination is back', data: {}, always_flush: true }),
  });
  if (!answer.ok) throw new Error(`rebind answered ${answer.status}: ${await answer.text()}`);
  const rebindSeconds = (performance.now() - drainStart) / 1000;
  if (!(await until(() => sink!.count() - base >= queued, 1_800_000, 250)))
    throw new Error(`the drain: the sink has ${sink.count() - base} of ${queued} after 30 minutes`);
  const drainSeconds = (performance.now() - drainStart) / 1000;
  const peakRss = daemon.peakRssMb();
  await daemon.stop();
  return {
    sink: sink.kind,
    queued,
    fresh: freshInjected.accepted,
    freshRate,
    rebindSeconds,
    drainSeconds,
    peakRss,
  };
}
try {
  daemon = await start();
  const idle = await rssMb(daemon.child.pid!);
  process.stderr.write(`injecting ${N} messages over HTTP…\n`);
  const injected = await httpInject(daemon.http, N, 4096, 4, 100, 600_000);
  // Until every message has had its first (failed) attempt and waits in a scheduled queue, so
  // the restart finds them all waiting and is not also busy making first attempts (bounded:
  // 10 minutes; a scrape walks every queued message, so once a second).
  await until(async () => (await scheduled(daemon!.http)) >= injected.accepted, 600_000, 1000);
  const full = await rssMb(daemon.child.pid!);
  const fullGc = await afterGc();
  const kill = async () => {
    daemon!.child.kill('SIGKILL');
    await new Promise((r) => daemon!.child.once('exit', r));
  };
  await kill();
  let stopSeconds = Number.NaN;
  const rows: string[] = [];
  for (const after of ['kill -9 while receiving', 'clean stop', 'kill -9 after that restart']) {
    const started = performance.now();
    daemon = await start('info');
    const restartSeconds = (performance.now() - started) / 1000;
    const found = await waiting(daemon.http);
    const held = await spooled(daemon.http);
    // The rest of the spool is queued while the daemon runs; it logs `re-queued N spooled
    // messages in S s` when every message is back (bounded: 10 minutes).
    const allQueuedSeconds = (await until(
      () => /re-queued \d+ spooled messages in /.test(daemon!.output()),
      600_000,
      50,
    ))
      ? (performance.now() - started) / 1000
      : Number.NaN;
    const afterRestart = await rssMb(daemon.child.pid!);
    const afterRestartGc = await afterGc();
    // The spool's own log line: `{…,"replayedBytes":B,"seconds":S,"msg":"spool index …"}`.
    const line = daemon
      .output()
      .split('\n')
      .find(
        (l) => l.includes('"msg":"spool index read') || l.includes('"msg":"spool index rebuilt'),
      );
    const opened = line === undefined ? undefined : (JSON.parse(line) as Record<string, unknown>);
    const how =
      opened === undefined
        ? '?'
        : `${String(opened.msg).includes('checkpoint') ? 'checkpoint' : 'replay'} ${opened.seconds} s, log replayed ${(Number(opened.replayedBytes) / 2 ** 20).toFixed(0)} MiB`;
    rows.push(
      `${after} | ${restartSeconds.toFixed(1)} | ${how} | ${held} | ${found} | ${allQueuedSeconds.toFixed(1)} | ${Math.round(afterRestart)} | ${afterRestartGc}`,
    );
    if (after === 'kill -9 while receiving') {
      // A clean stop writes the checkpoint the next restart reads.
      const stopping = performance.now();
      await daemon.stop();
      stopSeconds = (performance.now() - stopping) / 1000;
    } else if (after === 'clean stop') await kill();
    else await daemon.stop();
  }
  const drained = values['no-drain'] ? undefined : await drain(injected.accepted);
  console.log(`\nmalloc: ${PRELOAD === undefined ? "glibc's" : `LD_PRELOAD=${PRELOAD}`}`);
  if (values.env.length > 0) console.log(`environment: ${values.env.join(' ')}`);
  console.log(
    `\nqueued | HTTP inject recipients/s | RSS idle MB | RSS queued MB | KB per queued message | ${gcColumns} | clean stop s (after the first restart; writes the checkpoint)`,
  );
  console.log('---|---|---|---|---|---|---|---|---');
  console.log(
    `${injected.accepted} | ${Math.round(injected.accepted / injected.seconds)} | ${Math.round(idle)} | ${Math.round(full)} | ${(((full - idle) * 1024) / N).toFixed(2)} | ${fullGc} | ${stopSeconds.toFixed(1)}`,
  );
  console.log(
    `\nrestart after | to \`initialization complete\` s | spool index from | held after restart (message_count) | in scheduled + ready queues at that moment | all queued again after s | RSS after restart MB | ${gcColumns}`,
  );
  console.log('---|---|---|---|---|---|---|---|---|---');
  for (const row of rows) console.log(row);
  if (drained !== undefined) {
    console.log(
      `\nthe destination back (sink ${drained.sink}) | fresh mail relayed, messages | its rate msg/s | rebind answered after s | drained after s | drain rate msg/s | drain / fresh rate | the drain daemon's RSS peak MB`,
    );
    console.log('---|---|---|---|---|---|---|---');
    console.log(
      `${drained.queued} waiting | ${drained.fresh} | ${Math.round(drained.freshRate)} | ${drained.rebindSeconds.toFixed(1)} | ${drained.drainSeconds.toFixed(1)} | ${Math.round(drained.queued / drained.drainSeconds)} | ${(drained.queued / drained.drainSeconds / drained.freshRate).toFixed(2)} | ${Math.round(drained.peakRss)}`,
    );
  }
} finally {
  // Whatever failed, no daemon outlives the benchmark (nor the sink).
  await sink?.close();
  if (daemon && daemon.child.exitCode === null) await daemon.stop();
  await rm(dir, { recursive: true, force: true });
}
