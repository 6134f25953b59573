// The cost of features (issue 22, item 6; issue 18 for Redis): one node relaying to a sink, in
// alternating rounds of one run, once per variant — each `plain` plus one feature:
//   plain     the relay with nothing switched on: no throttle, no log files, no log hook
//   local     a queue and an egress path `max_message_rate` set too high to bind (bare config)
//   shaping   the policy-extras shaping helper (`shaping:setup_with_automation`) reading a
//             TOML file that gives the sink's domain max_message_rate, max_connection_rate,
//             additional_connection_limits and additional_message_rate_throttles, none binding
//   logs      `configure_local_logs` and the policy-extras log_hooks helper (`new_json`) POSTing
//             every record to an HTTP receiver on loopback, which counts them
//   logfiles  (not in the default set) `configure_local_logs` alone, to split `logs` in two
//   redis     local's throttles, and the egress path's connection_limit, shared through a real
//             redis-server on loopback by `kumo.configure_redis_throttles`
// The bench's policies are in bench/lib/feature-policy.ts. Prints each variant's median msg/s
// and how much slower than plain it is, against issue 22's target (<= 10 %, redis <= 20 %).
// Loopback only (DNS too: the bench's own server answers the shaping helper's MX look-up);
// every loop bounded in count and time.
//   npx tsx --conditions=@sterna/source bench/cluster.ts [--n 10000] [--conc 20] [--size 4096]
//     [--rounds 3] [--variants plain,local,shaping,logs,redis] [--hook-batch 1]
//     [--hook-deferred-spool] (the log hook's `log_parameters = { deferred_spool = true }`)
//     [--timeout 300] [--cpu-prof DIR] [--no-build]
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startDnsServer } from '../packages/protocol-testkit/src/dns-server.js';
import { startRedis } from '../packages/protocol-testkit/src/services/servers.js';
import { buildDaemon, startDaemon } from './lib/daemon.js';
import { startHookReceiver } from './lib/feature-hook.js';
import {
  FEATURE_VARIANTS,
  type FeatureVariant,
  featurePolicy,
  SINK_DOMAIN,
  writeShapingFile,
} from './lib/feature-policy.js';
import { reusedConnections } from './lib/load.js';
import { writeResults } from './lib/results.js';
import { startSink } from './lib/sink.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '10000' },
    conc: { type: 'string', default: '20' },
    size: { type: 'string', default: '4096' },
    rounds: { type: 'string', default: '3' },
    variants: { type: 'string', default: 'plain,local,shaping,logs,redis' },
    'hook-batch': { type: 'string', default: '1' },
    'hook-deferred-spool': { type: 'boolean', default: false },
    timeout: { type: 'string', default: '300' },
    'cpu-prof': { type: 'string' },
    'no-build': { type: 'boolean', default: false },
  },
});
const root = fileURLToPath(new URL('..', import.meta.url));
const N = Number(values.n);
const CONC = Number(values.conc);
const SIZE = Number(values.size);
const ROUNDS = Number(values.rounds);
const HOOK_BATCH = Number(values['hook-batch']);
const TIMEOUT_MS = Number(values.timeout) * 1000;
const variants = values.variants!.split(',') as FeatureVariant[];
for (const v of variants)
  if (!(FEATURE_VARIANTS as readonly string[]).includes(v))
    throw new Error(`unknown variant '${v}': expected ${FEATURE_VARIANTS.join(', ')}`);
if (!Number.isInteger(HOOK_BATCH) || HOOK_BATCH < 1)
  throw new Error('--hook-batch: a whole number of records, 1 or more');

/** Issue 22's budget, % slower than plain. */
const TARGET: Record<FeatureVariant, number | undefined> = {
  plain: undefined,
  local: 10,
  shaping: 10,
  logs: 10,
  logfiles: 10,
  redis: 20,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Row {
  variant: FeatureVariant;
  round: number;
  messages: number;
  delivered: number;
  injectSeconds: number;
  endToEndRate: number;
  peakRssMb: number;
  /** `logs`: records the hook receiver got, their requests, and when the last one came. */
  hook?: {
    records: number;
    expected: number;
    requests: number;
    byType: Record<string, number>;
    /** Seconds from the first message sent to the last record received. */
    seconds: number;
  };
}

if (!values['no-build']) buildDaemon(root);
const work = await mkdtemp(join(tmpdir(), 'sterna-bench-cluster-'));
const sink = await startSink();
// The shaping helper looks up the domain's MX (site matching): answered here, never off-box.
const dns = await startDnsServer({
  records: {
    [SINK_DOMAIN]: { MX: [{ exchange: `mx.${SINK_DOMAIN}`, priority: 10 }] },
    [`mx.${SINK_DOMAIN}`]: { A: ['127.0.0.1'] },
  },
});
// Debian's redis-server on a free loopback port (the testkit's runner), no persistence.
const redis = variants.includes('redis') ? await startRedis() : undefined;
const hook = variants.includes('logs') ? await startHookReceiver() : undefined;
const rows: Row[] = [];
try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const variant of variants) {
      const dir = join(work, `${variant}-${round}`);
      await mkdir(dir, { recursive: true });
      const shapingFile = variant === 'shaping' ? await writeShapingFile(dir) : undefined;
      const file = join(work, `${variant}-${round}.lua`);
      await writeFile(
        file,
        featurePolicy(
          variant,
          {
            dir,
            sinkPort: sink.port,
            dnsServer: dns.servers[0]!,
            redisUrl: redis?.url,
            hookUrl: hook?.url,
            hookBatch: HOOK_BATCH,
            hookDeferredSpool: values['hook-deferred-spool'],
          },
          shapingFile,
        ),
      );
      // --cpu-prof DIR: each daemon writes V8 CPU profiles (one per thread) into
      // DIR/<variant>-<round> as it exits.
      const profileDir = values['cpu-prof']
        ? join(values['cpu-prof'], `${variant}-${round}`)
        : undefined;
      const daemon = await startDaemon(
        root,
        file,
        profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
      );
      const base = sink.count();
      const hookBase = hook?.records() ?? 0;
      const requestBase = hook?.requests() ?? 0;
      const typesBase = hook?.byType() ?? {};
      const started = performance.now();
      const load = await reusedConnections(daemon.smtpPort, N, SIZE, CONC, TIMEOUT_MS);
      while (sink.count() - base < load.accepted && performance.now() - started < TIMEOUT_MS)
        await sleep(20);
      const seconds = (performance.now() - started) / 1000;
      const delivered = sink.count() - base;
      let hookRow: Row['hook'];
      if (variant === 'logs' && hook) {
        // A Reception and a Delivery record per message; the hook's own deliveries are not
        // hooked. Waits (bounded) for the hook to catch up, which the msg/s does not include.
        const expected = 2 * delivered;
        while (hook.records() - hookBase < expected && performance.now() - started < TIMEOUT_MS)
          await sleep(20);
        const byType: Record<string, number> = {};
        for (const [type, count] of Object.entries(hook.byType()))
          byType[type] = count - (typesBase[type] ?? 0);
        hookRow = {
          records: hook.records() - hookBase,
          expected,
          requests: hook.requests() - requestBase,
          byType,
          seconds: Math.round(((hook.lastAt() || started) - started) / 10) / 100,
        };
      }
      await daemon.stop();
      const row: Row = {
        variant,
        round,
        messages: N,
        delivered,
        injectSeconds: Math.round(load.seconds * 100) / 100,
        endToEndRate: Math.round(delivered / seconds),
        peakRssMb: daemon.peakRssMb(),
        ...(hookRow ? { hook: hookRow } : {}),
      };
      rows.push(row);
      log(
        `round ${round} ${variant}: ${delivered}/${N} delivered, ${row.endToEndRate} msg/s, ` +
          `peak RSS ${row.peakRssMb} MB` +
          (hookRow
            ? `; hook: ${hookRow.records}/${hookRow.expected} records in ${hookRow.requests} ` +
              `requests, the last after ${hookRow.seconds} s`
            : ''),
      );
      await rm(dir, { recursive: true, force: true });
    }
  }
} finally {
  await hook?.close();
  await redis?.close();
  await dns.close();
  await sink.close();
  await rm(work, { recursive: true, force: true });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const summary = Object.fromEntries(
  variants.map((v) => [v, median(rows.filter((r) => r.variant === v).map((r) => r.endToEndRate))]),
) as Record<FeatureVariant, number>;
const plain = summary.plain;
const slower: Partial<Record<FeatureVariant, number>> = {};
console.log('\nvariant    median msg/s   slower than plain   target   met');
for (const v of variants) {
  const target = TARGET[v];
  let cost = '';
  let verdict = '';
  if (plain && v !== 'plain') {
    const pct = Math.round(((plain - summary[v]) / plain) * 1000) / 10;
    slower[v] = pct;
    cost = `${pct} %`;
    verdict = target === undefined ? '' : pct <= target ? 'yes' : 'NO';
  }
  console.log(
    `${v.padEnd(9)} ${String(summary[v]).padStart(13)}   ${cost.padStart(17)}   ` +
      `${(target === undefined ? '' : `<= ${target} %`).padStart(6)}   ${verdict}`,
  );
}
const hooked = rows.filter((r) => r.hook);
if (hooked.length > 0) {
  const got = hooked.reduce((s, r) => s + r.hook!.records, 0);
  const want = hooked.reduce((s, r) => s + r.hook!.expected, 0);
  console.log(
    `\nlog hook (batch_size ${HOOK_BATCH}${values['hook-deferred-spool'] ? ', deferred_spool' : ''}): ${got} of ${want} records received over ` +
      `${hooked.reduce((s, r) => s + r.hook!.requests, 0)} requests`,
  );
}
if (!plain) console.log('\n(no plain variant in this run: nothing to compare against)');
await writeResults(root, 'cluster', {
  n: N,
  conc: CONC,
  size: SIZE,
  rounds: ROUNDS,
  hookBatch: HOOK_BATCH,
  hookDeferredSpool: values['hook-deferred-spool'],
  sink: sink.kind,
  rows,
  summary,
  slowerThanPlainPct: slower,
  targetPct: TARGET,
});
