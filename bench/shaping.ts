// Traffic shaping at scale (issue 17): `--domains` destination domains, each its own scheduled
// queue with `max_message_rate = '2/h'` and its own ready queue whose egress path carries a
// per-domain `additional_message_rate_throttles` entry of '1/h'; `--per-domain` messages each,
// injected over HTTP. The first message of a domain is delivered, the second waits in its ready
// queue behind the path's throttle, the rest wait behind the queue's rate gate. Measured: time to
// inject, time to the last delivery, and the daemon's resident memory and CPU time (from /proc)
// idle, during the burst and while the held messages wait. Then the same without throttles
// (every message delivered) for context. Loopback only; every loop bounded in count and time.
//   npx tsx --conditions=@sterna/source bench/shaping.ts [--domains 10000] [--per-domain 3]
//     [--wait 60] [--idle 10] [--variants throttled,unthrottled] [--connection-limit N]
//     [--timeout 600] [--no-build]
// --connection-limit N adds one additional_connection_limits entry of N that every domain's path
// shares, as a global outbound limit would be written.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildDaemon, startDaemon } from './lib/daemon.js';
import { benchMessage, injectBatch } from './lib/load.js';
import { type ProcUsage, readProcUsage, usageBetween } from './lib/proc-usage.js';
import { writeResults } from './lib/results.js';
import { type Sink, startSink } from './lib/sink.js';

const { values } = parseArgs({
  options: {
    domains: { type: 'string', default: '10000' },
    'per-domain': { type: 'string', default: '3' },
    size: { type: 'string', default: '1024' },
    wait: { type: 'string', default: '60' },
    idle: { type: 'string', default: '10' },
    variants: { type: 'string', default: 'throttled,unthrottled' },
    'connection-limit': { type: 'string' },
    timeout: { type: 'string', default: '600' },
    'no-build': { type: 'boolean', default: false },
  },
});
const root = fileURLToPath(new URL('..', import.meta.url));
const DOMAINS = Number(values.domains);
const PER_DOMAIN = Number(values['per-domain']);
const SIZE = Number(values.size);
const WAIT_S = Number(values.wait);
const IDLE_S = Number(values.idle);
const TIMEOUT_MS = Number(values.timeout) * 1000;
// One additional_connection_limits entry every domain's path names (none by default).
const SHARED_LIMIT = values['connection-limit'] ? Number(values['connection-limit']) : undefined;
const variants = values.variants!.split(',') as ('throttled' | 'unthrottled')[];
for (const v of variants)
  if (v !== 'throttled' && v !== 'unthrottled')
    throw new Error(`unknown variant '${v}': expected throttled or unthrottled`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`${line}\n`);
const domainName = (d: number) => `d${d}.shaping.bench`;

// Each domain names its own mx_list host (same sink address), so each gets its own ready queue
// and asks for its own egress path; the path's max_message_rate is keyed by the ready queue's
// name, which an mx_list site takes from the address, so the per-domain path throttle is a named
// additional_message_rate_throttles entry instead.
function shapingPolicy(dir: string, sinkPort: number, throttled: boolean): string {
  return `
local kumo = require 'kumo'
kumo.on('init', function()
  kumo.start_esmtp_listener { listen = '127.0.0.1:0', relay_hosts = { '127.0.0.0/8' } }
  kumo.start_http_listener { listen = '127.0.0.1:0' }
  kumo.define_spool { name = 'data', path = '${dir}/spool/data' }
  kumo.define_spool { name = 'meta', path = '${dir}/spool/meta' }
  kumo.configure_local_logs { log_dir = '${dir}/logs' }
end)
kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  return kumo.make_queue_config {
    ${throttled ? "max_message_rate = '2/h'," : ''}
    protocol = { smtp = { mx_list = { { name = 'mx.' .. domain, addr = '127.0.0.1:${sinkPort}' } } } },
  }
end)
kumo.on('get_egress_path_config', function(domain, source, site)
  return kumo.make_egress_path {
    prohibited_hosts = {},
    enable_tls = 'Disabled',
    ${SHARED_LIMIT ? `additional_connection_limits = { ['bench-sink'] = ${SHARED_LIMIT} },` : ''}
    ${throttled ? "additional_message_rate_throttles = { [domain] = '1/h' }," : ''}
  }
end)
`;
}

// Round by round (message k of every domain, then k + 1), `perRequest` recipients per request,
// `conc` requests in flight.
async function injectAcrossDomains(
  http: string,
  conc: number,
  perRequest: number,
): Promise<{ seconds: number; accepted: number }> {
  const total = DOMAINS * PER_DOMAIN;
  const content = benchMessage(0, SIZE);
  let next = 0;
  let accepted = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (next < total && performance.now() - started < TIMEOUT_MS) {
        const first = next;
        next = Math.min(total, next + perRequest);
        const recipients = [];
        for (let i = first; i < next; i++)
          recipients.push({ email: `user${Math.floor(i / DOMAINS)}@${domainName(i % DOMAINS)}` });
        // Awaited first: `accepted += await …` would read `accepted` before the other requests
        // in flight add to it, and lose their counts.
        const ok = await injectBatch(http, content, recipients);
        accepted += ok;
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, accepted };
}

interface Held {
  /** `message_count`: spooled, not delivered. */
  readonly spooled: number;
  /** Sum of `scheduled_count` (rate gates included). */
  readonly scheduled: number;
  /** Sum of `ready_count`. */
  readonly ready: number;
  /** Both. */
  readonly queued: number;
  /** prom-client's `nodejs_heap_size_used_bytes`, MB. */
  readonly heapUsedMb: number;
  /** Seconds spent in garbage collection so far (`nodejs_gc_duration_seconds_sum`, every kind). */
  readonly gcSeconds: number;
  readonly scrapeMs: number;
}

async function held(http: string): Promise<Held> {
  const t = performance.now();
  const text = await fetch(`${http}/metrics`).then((r) => r.text());
  const scrapeMs = performance.now() - t;
  const sum = (name: string) => {
    let total = 0;
    for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'gm')))
      total += Number(m[1]);
    return total;
  };
  const scheduled = sum('scheduled_count');
  const ready = sum('ready_count');
  const spooled = Number(/^message_count (\d+)/m.exec(text)?.[1] ?? Number.NaN);
  const heapUsedMb =
    Number(/^nodejs_heap_size_used_bytes ([\d.e+]+)/m.exec(text)?.[1] ?? Number.NaN) / 2 ** 20;
  let gcSeconds = 0;
  for (const m of text.matchAll(/^nodejs_gc_duration_seconds_sum\{[^}]*\} ([\d.e+-]+)/gm))
    gcSeconds += Number(m[1]);
  return {
    spooled,
    scheduled,
    ready,
    queued: scheduled + ready,
    heapUsedMb,
    gcSeconds,
    scrapeMs,
  };
}

interface Row {
  readonly variant: string;
  readonly domains: number;
  readonly accepted: number;
  readonly injectSeconds: number;
  readonly delivered: number;
  readonly expected: number;
  readonly lastDeliverySeconds: number;
  readonly settledSeconds: number;
  readonly heldIdle: Held;
  readonly heldAtSettle: Held | undefined;
  readonly heldAfterWait: Held;
  readonly deliveredAfterWait: number;
  readonly rssIdleMb: number;
  readonly rssPeakMb: number;
  readonly rssWaitStartMb: number;
  readonly rssWaitEndMb: number;
  readonly rssWaitMinMb: number;
  readonly rssWaitMaxMb: number;
  readonly cpuIdlePercent: number;
  readonly cpuBurstSeconds: number;
  readonly cpuWaitPercent: number;
  /** CPU % and RSS MB per tenth of the wait. */
  readonly waitSlices: { cpuPercent: number; rssMb: number }[];
  /** The same each second of the wait (results file only). */
  readonly waitSeconds: { cpuPercent: number; rssMb: number }[];
  /** One-minute load average at the start and at the end. */
  readonly load: [number, number];
}

// CPU % and RSS between consecutive readings.
const steps = (readings: ProcUsage[]) =>
  readings.slice(1).map((s, i) => ({
    cpuPercent: usageBetween(readings[i]!, s).cpuPercent,
    rssMb: s.rssMb,
  }));

async function runVariant(variant: 'throttled' | 'unthrottled', sink: Sink): Promise<Row> {
  const throttled = variant === 'throttled';
  const dir = await mkdtemp(join(tmpdir(), 'sterna-shaping-'));
  const policy = join(dir, 'init.lua');
  await writeFile(policy, shapingPolicy(dir, sink.port, throttled));
  const daemon = await startDaemon(root, policy);
  const pid = daemon.child.pid!;
  const since = performance.now();
  // One reading a second, by phase (for peaks and the per-second results).
  const samples: { phase: string; usage: ProcUsage }[] = [];
  let phase = 'idle';
  const read = () => {
    const usage = readProcUsage(pid, since);
    if (!usage) throw new Error(`the daemon (pid ${pid}) exited`);
    return usage;
  };
  const sampler = setInterval(() => {
    const usage = readProcUsage(pid, since);
    if (usage) samples.push({ phase, usage });
  }, 1000);
  const elapsed = () => performance.now() - since;
  const loadAtStart = loadavg()[0]!;
  try {
    // Not idle yet: the daemon still spends ~0.5 s of CPU in bursts over the ~25 s after
    // 'initialization complete' (measured on its own; after that, ~1 % of a core).
    await sleep(25_000);
    const idleStart = read();
    await sleep(IDLE_S * 1000);
    const idleEnd = read();
    const heldIdle = await held(daemon.http);
    const base = sink.count();
    const total = DOMAINS * PER_DOMAIN;
    log(
      `${variant}: ${total} messages to ${DOMAINS} domains over HTTP (100 per request, 4 in flight)`,
    );
    phase = 'burst';
    const burstStart = read();
    const injected = await injectAcrossDomains(daemon.http, 4, 100);
    const expected = throttled ? Math.min(DOMAINS, injected.accepted) : injected.accepted;
    // Until the expected deliveries are in and every held message sits in a queue (none mid-promotion).
    let delivered = 0;
    let lastDeliverySeconds = Number.NaN;
    let heldAtSettle: Held | undefined;
    while (elapsed() - burstStart.at < TIMEOUT_MS) {
      const now = sink.count() - base;
      if (now !== delivered) process.stderr.write(`\r  delivered ${now}/${expected}`);
      delivered = now;
      if (delivered >= expected) {
        if (Number.isNaN(lastDeliverySeconds))
          lastDeliverySeconds = (elapsed() - burstStart.at) / 1000;
        const h = await held(daemon.http);
        if (h.queued === h.spooled && h.spooled === injected.accepted - delivered) {
          heldAtSettle = h;
          break;
        }
        await sleep(2000);
      } else await sleep(200);
    }
    process.stderr.write('\n');
    if (!heldAtSettle) log(`${variant}: not settled within --timeout; figures below are partial`);
    const burstEnd = read();
    const settledSeconds = (burstEnd.at - burstStart.at) / 1000;
    log(
      `${variant}: ${heldAtSettle ? 'settled' : 'stopped waiting'} after ${settledSeconds.toFixed(1)} s; watching for ${WAIT_S} s`,
    );
    phase = 'wait';
    const waitStart = read();
    const slices: ProcUsage[] = [waitStart];
    for (let i = 1; i <= 10; i++) {
      await sleep((WAIT_S * 1000) / 10);
      slices.push(read());
    }
    const waitEnd = slices[slices.length - 1]!;
    const deliveredAfterWait = sink.count() - base;
    const heldAfterWait = await held(daemon.http);
    const waitRss = samples.filter((s) => s.phase === 'wait').map((s) => s.usage.rssMb);
    return {
      variant,
      domains: DOMAINS,
      accepted: injected.accepted,
      injectSeconds: injected.seconds,
      delivered,
      expected,
      lastDeliverySeconds,
      settledSeconds,
      heldIdle,
      heldAtSettle,
      heldAfterWait,
      deliveredAfterWait,
      rssIdleMb: idleEnd.rssMb,
      rssPeakMb: Math.max(...samples.map((s) => s.usage.rssMb)),
      rssWaitStartMb: waitStart.rssMb,
      rssWaitEndMb: waitEnd.rssMb,
      rssWaitMinMb: Math.min(...waitRss),
      rssWaitMaxMb: Math.max(...waitRss),
      cpuIdlePercent: usageBetween(idleStart, idleEnd).cpuPercent,
      cpuBurstSeconds: usageBetween(burstStart, burstEnd).cpuSeconds,
      cpuWaitPercent: usageBetween(waitStart, waitEnd).cpuPercent,
      waitSlices: steps(slices),
      waitSeconds: steps(samples.filter((s) => s.phase === 'wait').map((s) => s.usage)),
      load: [loadAtStart, loadavg()[0]!],
    };
  } finally {
    clearInterval(sampler);
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (!values['no-build']) buildDaemon(root);
const sink = await startSink();
log(`sink: ${sink.kind} on 127.0.0.1:${sink.port}`);
const rows: Row[] = [];
try {
  for (const variant of variants) rows.push(await runVariant(variant, sink));
} finally {
  await sink.close();
}

const mb = (x: number) => Math.round(x);
const pc = (x: number) => x.toFixed(1);
console.log(
  `\n${DOMAINS} domains × ${PER_DOMAIN} messages of ${SIZE} B, waiting ${WAIT_S} s${SHARED_LIMIT ? `, one shared connection limit of ${SHARED_LIMIT}` : ''}; node ${process.version}, ${cpus().length} cpus`,
);
console.log(
  'variant | delivered / expected | inject s (msg/s) | last delivery s | settled s | held after wait: scheduled + ready / spooled | RSS idle MB | RSS peak MB | RSS wait start → end (min–max) MB | CPU idle % | CPU burst s | CPU waiting % | GC s waiting | JS heap used idle → after wait MB | /metrics ms after wait | load 1 min start, end',
);
console.log('---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---');
for (const r of rows) {
  console.log(
    `${r.variant} | ${r.deliveredAfterWait} / ${r.expected} | ${r.injectSeconds.toFixed(1)} (${Math.round(r.accepted / r.injectSeconds)}) | ${Number.isNaN(r.lastDeliverySeconds) ? '—' : r.lastDeliverySeconds.toFixed(1)} | ${r.heldAtSettle ? '' : 'not settled, '}${r.settledSeconds.toFixed(1)} | ${r.heldAfterWait.scheduled} + ${r.heldAfterWait.ready} / ${r.heldAfterWait.spooled} | ${mb(r.rssIdleMb)} | ${mb(r.rssPeakMb)} | ${mb(r.rssWaitStartMb)} → ${mb(r.rssWaitEndMb)} (${mb(r.rssWaitMinMb)}–${mb(r.rssWaitMaxMb)}) | ${pc(r.cpuIdlePercent)} | ${r.cpuBurstSeconds.toFixed(1)} | ${pc(r.cpuWaitPercent)} | ${r.heldAtSettle ? (r.heldAfterWait.gcSeconds - r.heldAtSettle.gcSeconds).toFixed(2) : '—'} | ${mb(r.heldIdle.heapUsedMb)} → ${mb(r.heldAfterWait.heapUsedMb)} | ${Math.round(r.heldAfterWait.scrapeMs)} | ${r.load.map((l) => l.toFixed(1)).join(', ')}`,
  );
}
for (const r of rows) {
  console.log(
    `${r.variant}, each tenth of the wait: CPU % ${r.waitSlices.map((s) => pc(s.cpuPercent)).join(', ')}; RSS MB ${r.waitSlices.map((s) => mb(s.rssMb)).join(', ')}`,
  );
}
await writeResults(root, 'shaping', {
  domains: DOMAINS,
  perDomain: PER_DOMAIN,
  size: SIZE,
  waitSeconds: WAIT_S,
  sharedConnectionLimit: SHARED_LIMIT ?? null,
  rows,
});
