// The cost of sharing throttles through Redis (issue 18): one node relaying to a sink three
// ways, in alternating rounds of one run — `plain` (no throttle), `local` (a queue and an
// egress path `max_message_rate` set high enough never to bind, kept in the node) and `redis`
// (the same throttles, and the egress path's connection_limit, shared through a real
// redis-server on loopback by `kumo.configure_redis_throttles`). Every message is checked
// against both throttles, so the difference is the price of a shared check per message.
// Loopback only; every loop bounded in count and time.
//   npx tsx --conditions=@sterna/source bench/cluster.ts [--n 10000] [--conc 20] [--size 4096]
//     [--rounds 3] [--variants plain,local,redis] [--timeout 300] [--no-build]
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startRedis } from '../packages/protocol-testkit/src/services/servers.js';
import { benchPolicy, buildDaemon, startDaemon } from './lib/daemon.js';
import { reusedConnections } from './lib/load.js';
import { writeResults } from './lib/results.js';
import { startSink } from './lib/sink.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '10000' },
    conc: { type: 'string', default: '20' },
    size: { type: 'string', default: '4096' },
    rounds: { type: 'string', default: '3' },
    variants: { type: 'string', default: 'plain,local,redis' },
    timeout: { type: 'string', default: '300' },
    'no-build': { type: 'boolean', default: false },
  },
});
const root = fileURLToPath(new URL('..', import.meta.url));
const N = Number(values.n);
const CONC = Number(values.conc);
const SIZE = Number(values.size);
const ROUNDS = Number(values.rounds);
const TIMEOUT_MS = Number(values.timeout) * 1000;
type Variant = 'plain' | 'local' | 'redis';
const variants = values.variants!.split(',') as Variant[];
for (const v of variants)
  if (!['plain', 'local', 'redis'].includes(v))
    throw new Error(`unknown variant '${v}': expected plain, local or redis`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`${line}\n`);

function policy(dir: string, sinkPort: number, variant: Variant, redisUrl: string): string {
  const rate = variant === 'plain' ? 'nil' : `'1000000/s'`;
  return benchPolicy(dir, `{ smtp = { mx_list = { '127.0.0.1:${sinkPort}' } } }`, {
    init: variant === 'redis' ? `kumo.configure_redis_throttles { node = '${redisUrl}' }` : '',
    path: `max_message_rate = ${rate}`,
    queue: `max_message_rate = ${rate}`,
  });
}

interface Row {
  variant: Variant;
  round: number;
  messages: number;
  delivered: number;
  injectSeconds: number;
  endToEndRate: number;
  peakRssMb: number;
}

if (!values['no-build']) buildDaemon(root);
const work = await mkdtemp(join(tmpdir(), 'sterna-bench-cluster-'));
const sink = await startSink();
// Debian's redis-server on a free loopback port (the testkit's runner), no persistence.
const redis = variants.includes('redis') ? await startRedis() : undefined;
const rows: Row[] = [];
try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const variant of variants) {
      const dir = join(work, `${variant}-${round}`);
      const file = join(work, `${variant}-${round}.lua`);
      await writeFile(file, policy(dir, sink.port, variant, redis?.url ?? ''));
      const daemon = await startDaemon(root, file);
      const base = sink.count();
      const started = performance.now();
      const load = await reusedConnections(daemon.smtpPort, N, SIZE, CONC, TIMEOUT_MS);
      while (sink.count() - base < load.accepted && performance.now() - started < TIMEOUT_MS)
        await sleep(20);
      const seconds = (performance.now() - started) / 1000;
      const delivered = sink.count() - base;
      await daemon.stop();
      const row = {
        variant,
        round,
        messages: N,
        delivered,
        injectSeconds: Math.round(load.seconds * 100) / 100,
        endToEndRate: Math.round(delivered / seconds),
        peakRssMb: daemon.peakRssMb(),
      };
      rows.push(row);
      log(`round ${round} ${variant}: ${delivered}/${N} delivered, ${row.endToEndRate} msg/s`);
      await rm(dir, { recursive: true, force: true });
    }
  }
} finally {
  await redis?.close();
  await sink.close();
  await rm(work, { recursive: true, force: true });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const summary = Object.fromEntries(
  variants.map((v) => [v, median(rows.filter((r) => r.variant === v).map((r) => r.endToEndRate))]),
);
const plain = summary.plain;
console.log('\nvariant   median msg/s   vs plain');
for (const v of variants) {
  const ratio = plain ? `${Math.round(((summary[v] ?? 0) / plain) * 100)} %` : '';
  console.log(`${v.padEnd(9)} ${String(summary[v]).padStart(12)}   ${ratio}`);
}
await writeResults(root, 'cluster', {
  n: N,
  conc: CONC,
  size: SIZE,
  rounds: ROUNDS,
  rows,
  summary,
});
