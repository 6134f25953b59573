// Queue depth: with the destination down, inject N messages over HTTP (100 recipients per
// request), measure the daemon's resident memory per queued message, then restart it and time
// how long it takes to find them all again: to `initialization complete` (the daemon queues the
// spool for up to a second before it goes on) and until every message is back in a queue: after
// kill -9 of the daemon that received them (the spool reads the latest index checkpoint it wrote
// while running and replays the log after it), after a clean stop (the checkpoint it wrote then),
// and after kill -9 of the daemon restarted from that (the same checkpoint, and the little log
// written since).
// Loopback only; bounded.
//   npx tsx --conditions=@sterna/source bench/queue-depth.ts [--n 100000] [--no-build]
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildDaemon, startDaemon } from './lib/daemon.js';
import { httpInject } from './lib/load.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    'no-build': { type: 'boolean', default: false },
  },
});
const N = Number(values.n);
const root = fileURLToPath(new URL('..', import.meta.url));
if (!values['no-build']) buildDaemon(root);
const dir = await mkdtemp(join(tmpdir(), 'sterna-depth-'));
const policy = join(dir, 'init.lua');
// Port 1 refuses connections: every message fails once and waits 20 minutes.
await writeFile(
  policy,
  `local kumo = require 'kumo'
kumo.on('init', function()
  kumo.start_esmtp_listener { listen = '127.0.0.1:0' }
  kumo.start_http_listener { listen = '127.0.0.1:0' }
  kumo.define_spool { name = 'data', path = '${dir}/spool' }
end)
kumo.on('get_egress_path_config', function() return kumo.make_egress_path { prohibited_hosts = {}, enable_tls = 'Disabled' } end)
kumo.on('get_queue_config', function() return kumo.make_queue_config { protocol = { smtp = { mx_list = { '127.0.0.1:1' } } } } end)
`,
);
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
let daemon: Awaited<ReturnType<typeof startDaemon>> | undefined;
try {
  daemon = await startDaemon(root, policy);
  const idle = await rssMb(daemon.child.pid!);
  process.stderr.write(`injecting ${N} messages over HTTP…\n`);
  const injected = await httpInject(daemon.http, N, 4096, 4, 100, 600_000);
  // Until every message has had its first (failed) attempt and waits in a scheduled queue, so
  // the restart finds them all waiting and is not also busy making first attempts (bounded:
  // 10 minutes; a scrape walks every queued message, so once a second).
  const settling = performance.now();
  while (
    (await scheduled(daemon.http)) < injected.accepted &&
    performance.now() - settling < 600_000
  )
    await new Promise((r) => setTimeout(r, 1000));
  const full = await rssMb(daemon.child.pid!);
  const kill = async () => {
    daemon!.child.kill('SIGKILL');
    await new Promise((r) => daemon!.child.once('exit', r));
  };
  await kill();
  let stopSeconds = Number.NaN;
  const rows: string[] = [];
  for (const after of ['kill -9 while receiving', 'clean stop', 'kill -9 after that restart']) {
    const started = performance.now();
    daemon = await startDaemon(root, policy, [], 'info');
    const restartSeconds = (performance.now() - started) / 1000;
    const found = await waiting(daemon.http);
    const held = await spooled(daemon.http);
    // The rest of the spool is queued while the daemon runs; it logs `re-queued N spooled
    // messages in S s` when every message is back (bounded: 10 minutes).
    let allQueuedSeconds = Number.NaN;
    while (performance.now() - started < 600_000) {
      if (/re-queued \d+ spooled messages in /.test(daemon.output())) {
        allQueuedSeconds = (performance.now() - started) / 1000;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const afterRestart = await rssMb(daemon.child.pid!);
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
      `${after} | ${restartSeconds.toFixed(1)} | ${how} | ${held} | ${found} | ${allQueuedSeconds.toFixed(1)} | ${Math.round(afterRestart)}`,
    );
    if (after === 'kill -9 while receiving') {
      // A clean stop writes the checkpoint the next restart reads.
      const stopping = performance.now();
      await daemon.stop();
      stopSeconds = (performance.now() - stopping) / 1000;
    } else if (after === 'clean stop') await kill();
    else await daemon.stop();
  }
  console.log(
    '\nqueued | HTTP inject recipients/s | RSS idle MB | RSS queued MB | KB per queued message | clean stop s (after the first restart; writes the checkpoint)',
  );
  console.log('---|---|---|---|---|---');
  console.log(
    `${injected.accepted} | ${Math.round(injected.accepted / injected.seconds)} | ${Math.round(idle)} | ${Math.round(full)} | ${(((full - idle) * 1024) / N).toFixed(2)} | ${stopSeconds.toFixed(1)}`,
  );
  console.log(
    '\nrestart after | to `initialization complete` s | spool index from | held after restart (message_count) | in scheduled + ready queues at that moment | all queued again after s | RSS after restart MB',
  );
  console.log('---|---|---|---|---|---|---');
  for (const row of rows) console.log(row);
} finally {
  // Whatever failed, no daemon outlives the benchmark.
  if (daemon && daemon.child.exitCode === null) await daemon.stop();
  await rm(dir, { recursive: true, force: true });
}
