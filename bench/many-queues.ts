import type { Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startDnsServer } from '../packages/protocol-testkit/src/dns-server.js';
import { benchPolicy, buildDaemon, type RunningDaemon, startDaemon } from './lib/daemon.js';
import { freeLoopbackPort, heapAfterGc } from './lib/inspector-heap.js';
import { benchMessage, injectBatch } from './lib/load.js';
import { readProcUsage } from './lib/proc-usage.js';
import { writeResults } from './lib/results.js';
import { startSink } from './lib/sink.js';

const VARIANTS = ['single', 'shared-mx', 'own-mx'] as const;
type Variant = (typeof VARIANTS)[number];

const { values } = parseArgs({
  options: {
    domains: { type: 'string', default: '100000' },
    'per-domain': { type: 'string', default: '1' },
    size: { type: 'string', default: '1024' },
    cycles: { type: 'string', default: '3' },
    variants: { type: 'string', default: VARIANTS.join(',') },
    conc: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '1000' },
    'idle-timeout': { type: 'string' },
    'sink-sessions': { type: 'string', default: '16384' },
    timeout: { type: 'string', default: '600' },
    'reap-timeout': { type: 'string', default: '300' },
    'no-inspect': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    keep: { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
  },
});
const root = fileURLToPath(new URL('..', import.meta.url));
const DOMAINS = Number(values.domains);
const PER_DOMAIN = Number(values['per-domain']);
const SIZE = Number(values.size);
const CYCLES = Number(values.cycles);
const CONC = Number(values.conc);
const PER_REQUEST = 100;
const WARMUP = Number(values.warmup);
const TIMEOUT_MS = Number(values.timeout) * 1000;
const REAP_TIMEOUT_MS = Number(values['reap-timeout']) * 1000;
const SINK_SESSIONS = Number(values['sink-sessions']);
const INSPECT = !values['no-inspect'];
const variants = values.variants!.split(',') as Variant[];
for (const v of variants)
  if (!VARIANTS.includes(v))
    throw new Error(`unknown variant '${v}': expected one of ${VARIANTS.join(', ')}`);
if (!(DOMAINS >= 1 && PER_DOMAIN >= 1 && CYCLES >= 1))
  throw new Error('--domains, --per-domain and --cycles must be at least 1');

/** The engine's reaper interval (QueueManager: setInterval(#reap, 60_000)). */
const REAP_MS = 60_000;
/** The egress path's idle_timeout in seconds: the option's, else the engine's default (5 s). */
const IDLE_S = values['idle-timeout'] ? parseSeconds(values['idle-timeout']) : 5;
const SHARED_MX = 'mx.sink.test';
const TAGS: Record<Variant, string> = { single: 's', 'shared-mx': 'm', 'own-mx': 'o' };

function parseSeconds(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new Error(`--idle-timeout: expected e.g. 5s, got '${text}'`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const now = () => performance.now();
const sleepUntil = (t: number) => sleep(t - now());
const log = (line: string) => process.stderr.write(`${line}\n`);
const pad = (i: number) => String(i).padStart(6, '0');

// The testkit's DNS server reads its UDP socket with the kernel's default receive buffer
// (net.core.rmem_default, ~208 KiB: a few hundred queries); a burst of new domains (MX, A and
// AAAA each, all at once) overflows it when this process is not scheduled for a few ms, and a
// dropped query costs the daemon a 5 s resolver time-out, twice, then a 451 and a 20-minute
// retry. The server is found among this process's handles by its port and given 4 MiB (capped
// by net.core.rmem_max).
function widenDnsBuffer(port: number): number | undefined {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  for (const h of handles) {
    const socket = h as Partial<UdpSocket>;
    if (typeof socket.setRecvBufferSize !== 'function' || typeof socket.address !== 'function')
      continue;
    try {
      if (socket.address().port !== port) continue;
      socket.setRecvBufferSize(4 * 2 ** 20);
      return socket.getRecvBufferSize!();
    } catch {
      // not bound, or not ours
    }
  }
  return undefined;
}

/** Datagrams the kernel dropped for a full receive buffer, every socket of the host. */
function udpDrops(): number {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('Udp:'));
    const names = lines[0]!.split(/\s+/);
    const counts = lines[1]!.split(/\s+/);
    return Number(counts[names.indexOf('RcvbufErrors')]);
  } catch {
    return Number.NaN;
  }
}

/**
 * Drops counted on the live UDP sockets of the DNS server on `port` (its own socket, and the
 * daemons' resolver sockets sending to it), from /proc/net/udp's last column; a socket closed
 * since takes its count with it.
 */
function dnsSocketDrops(port: number): { server: number; resolvers: number } {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let server = 0;
  let resolvers = 0;
  try {
    for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 13) continue;
      const drops = Number(f[f.length - 1]);
      if (f[1]!.endsWith(`:${hexPort}`)) server += drops;
      else if (f[2]!.endsWith(`:${hexPort}`)) resolvers += drops;
    }
  } catch {
    return { server: Number.NaN, resolvers: Number.NaN };
  }
  return { server, resolvers };
}

/** A memory reading of one daemon. */
interface Memory {
  /** Main-thread JS heap used, MB (after a full collection unless `collected` is false). */
  readonly heapMb: number;
  /** Resident memory of the whole process (every thread), MB. */
  readonly rssMb: number;
  readonly collected: boolean;
}

interface Lane {
  readonly variant: Variant;
  readonly tag: string;
  readonly dir: string;
  readonly daemon: RunningDaemon;
  readonly inspectPort: number | undefined;
  /** Bench-clock time (ms) of an observed reap; the reaper fires every REAP_MS after it. */
  anchor: number;
  started?: Memory;
  warmRate?: number;
}

interface Gauges {
  /** Ready queues the engine holds (a `ready_count` series each, idle ones included). */
  readonly readyQueues: number;
  /** Scheduled queues holding mail (`scheduled_count` series). */
  readonly scheduledQueues: number;
  /** `message_count`: messages spooled and not yet done. */
  readonly messages: number;
}

async function gauges(http: string): Promise<Gauges> {
  const text = await fetch(`${http}/metrics`).then((r) => r.text());
  const series = (name: string) => text.match(new RegExp(`^${name}\\{`, 'gm'))?.length ?? 0;
  return {
    readyQueues: series('ready_count'),
    scheduledQueues: series('scheduled_count'),
    messages: Number(/^message_count (\d+)/m.exec(text)?.[1] ?? Number.NaN),
  };
}

async function memory(lane: Lane): Promise<Memory> {
  if (lane.inspectPort !== undefined) {
    const m = await heapAfterGc(lane.inspectPort);
    return { heapMb: m.heapUsed / 2 ** 20, rssMb: m.rss / 2 ** 20, collected: true };
  }
  // Without the inspector: prom-client's reading, garbage included.
  const text = await fetch(`${lane.daemon.http}/metrics`).then((r) => r.text());
  const heap = Number(/^nodejs_heap_size_used_bytes ([\d.e+]+)/m.exec(text)?.[1] ?? Number.NaN);
  const usage = readProcUsage(lane.daemon.child.pid!, 0);
  return { heapMb: heap / 2 ** 20, rssMb: usage?.rssMb ?? Number.NaN, collected: false };
}

async function readyQueueExists(http: string, name: string): Promise<boolean> {
  const r = await fetch(
    `${http}/api/admin/inspect-ready-q/v1?queue_name=${encodeURIComponent(name)}`,
  );
  await r.arrayBuffer();
  if (r.status === 404) return false;
  if (r.ok) return true;
  throw new Error(`inspect-ready-q answered ${r.status}`);
}

/** The first predicted reap at or after `t`. */
function nextReap(lane: Lane, t: number): number {
  return lane.anchor + Math.ceil((t - lane.anchor) / REAP_MS) * REAP_MS;
}

/**
 * Waits until ready queue `name` is gone (a reap took it) or `deadline`; returns when (the
 * middle of the last poll that found it and the first that did not) and re-anchors the lane's
 * reaper phase, or undefined. Polls every 250 ms within 3 s of a predicted reap, every 2 s
 * elsewhere (or every 250 ms throughout while the phase is unknown).
 */
async function awaitGone(lane: Lane, name: string, deadline: number): Promise<number | undefined> {
  let seenAt = now();
  while (now() < deadline) {
    if (!(await readyQueueExists(lane.daemon.http, name))) {
      const goneAt = (seenAt + now()) / 2;
      lane.anchor = goneAt;
      return goneAt;
    }
    seenAt = now();
    const near = Number.isNaN(lane.anchor) || nextReap(lane, seenAt) - seenAt < 3000;
    const past = !Number.isNaN(lane.anchor) && seenAt - (nextReap(lane, seenAt) - REAP_MS) < 4000;
    await sleep(near || past ? 250 : 2000);
  }
  return undefined;
}

// Recipients round by round (message k of every domain, then k + 1), PER_REQUEST per request,
// CONC requests in flight.
async function inject(
  http: string,
  domains: readonly string[],
  perDomain: number,
  deadline: number,
): Promise<number> {
  const total = domains.length * perDomain;
  const content = benchMessage(0, SIZE);
  let next = 0;
  let accepted = 0;
  await Promise.all(
    Array.from({ length: CONC }, async () => {
      while (next < total && now() < deadline) {
        const first = next;
        next = Math.min(total, next + PER_REQUEST);
        const recipients = [];
        for (let i = first; i < next; i++)
          recipients.push({
            email: `user${Math.floor(i / domains.length)}@${domains[i % domains.length]}`,
          });
        // (not `accepted += await …`: that reads `accepted` before the await, losing the
        // counts other requests added meanwhile)
        const n = await injectBatch(http, content, recipients);
        accepted += n;
      }
    }),
  );
  return accepted;
}

/**
 * Injects and waits for the sink to count every accepted message; `timeline` gets the sink's
 * count (since the start) every 250 ms.
 */
async function deliver(
  lane: Lane,
  domains: readonly string[],
  perDomain: number,
  timeline: [number, number][],
): Promise<{
  start: number;
  injected: number;
  done: number;
  accepted: number;
  delivered: number;
  all: boolean;
}> {
  const base = sink.count();
  const start = now();
  const deadline = start + TIMEOUT_MS;
  const sampler = setInterval(() => timeline.push([now(), sink.count() - base]), 250);
  let accepted: number | undefined;
  let injected = Number.NaN;
  const injecting = inject(lane.daemon.http, domains, perDomain, deadline).then((n) => {
    injected = now();
    accepted = n;
  });
  let delivered = 0;
  try {
    while (now() < deadline) {
      delivered = sink.count() - base;
      if (accepted !== undefined && delivered >= accepted) break;
      await sleep(20);
    }
  } finally {
    clearInterval(sampler);
  }
  const done = now();
  await injecting;
  timeline.push([done, delivered]);
  return {
    start,
    injected,
    done,
    accepted: accepted ?? 0,
    delivered,
    all: delivered >= (accepted ?? 0),
  };
}

/** The sink's count (since the round's start) at time `t`, from the timeline. */
function countAt(timeline: readonly [number, number][], t: number): number {
  let c = 0;
  for (const [at, n] of timeline) {
    if (at > t) break;
    c = n;
  }
  return c;
}

interface Round {
  readonly variant: Variant;
  readonly cycle: number;
  readonly domains: number;
  readonly accepted: number;
  readonly delivered: number;
  readonly allDelivered: boolean;
  /** First request to the last answer. */
  readonly injectSeconds: number;
  /** First request to the last delivery. */
  readonly seconds: number;
  readonly rate: number;
  /** rate / the single variant's rate of the same cycle. */
  ratio?: number;
  readonly dnsQueries: number;
  /** UDP datagrams the host dropped on a full receive buffer during the round (any socket). */
  readonly udpDropped: number;
  /** Of those, on the DNS server's socket and on the daemons' resolver sockets still open. */
  readonly dnsDrops: { readonly server: number; readonly resolvers: number };
  readonly scheduledHeld: number;
  readonly scheduledEstimated: boolean;
  readonly readyHeld: number;
  readonly messagesAtHeld: number;
  /** The held reading came less than 0.5 s before the predicted reap (it may have fallen in). */
  readonly heldLate: boolean;
  readonly before: Memory;
  readonly held: Memory;
  readonly afterReap: Memory | undefined;
  readonly afterNextReap: Memory | undefined;
  readonly readyAfterReap: number | undefined;
  /** Seconds from the last delivery until the round's ready queue was gone; undefined: not seen. */
  readonly reapSeconds: number | undefined;
  readonly heapKibPerQueue: number;
  readonly rssKibPerQueue: number;
  readonly load: number;
}

function namesOf(lane: Lane, cycle: number): string[] {
  if (lane.variant === 'single') return [`single.c${cycle}.${lane.tag}.test`];
  return Array.from({ length: DOMAINS }, (_, i) => `d${pad(i + 1)}.c${cycle}.${lane.tag}.test`);
}

const exchangeOf = (lane: Lane, domain: string) =>
  lane.variant === 'own-mx' ? `mx.${domain}` : SHARED_MX;

function publish(lane: Lane, domains: readonly string[]): void {
  for (const d of domains) {
    const exchange = exchangeOf(lane, d);
    dns.set(d, { MX: [{ exchange, priority: 10 }] });
    if (exchange !== SHARED_MX) dns.set(exchange, { A: ['127.0.0.1'] });
  }
}

function unpublish(lane: Lane, domains: readonly string[]): void {
  for (const d of domains) {
    dns.remove(d);
    if (exchangeOf(lane, d) !== SHARED_MX) dns.remove(exchangeOf(lane, d));
  }
}

const readyName = (site: string) => `unspecified->${site}@smtp_client`;

async function startLane(variant: Variant): Promise<Lane> {
  const dir = await mkdtemp(join(tmpdir(), 'sterna-queues-'));
  const policy = join(dir, 'init.lua');
  await writeFile(
    policy,
    benchPolicy(dir, 'nil', {
      init: `kumo.dns.configure_resolver { name_servers = { '${dns.servers[0]}' } }`,
      path: `smtp_port = ${sink.port},${values['idle-timeout'] ? ` idle_timeout = '${values['idle-timeout']}',` : ''}`,
    }),
  );
  const inspectPort = INSPECT ? await freeLoopbackPort() : undefined;
  // --cpu-prof DIR: each daemon writes V8 CPU profiles (one per thread) into DIR/<variant> as it exits.
  const profileDir = values['cpu-prof'] ? join(values['cpu-prof'], variant) : undefined;
  const daemon = await startDaemon(root, policy, [
    ...(inspectPort === undefined ? [] : [`--inspect=127.0.0.1:${inspectPort}`]),
    ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
  ]);
  return { variant, tag: TAGS[variant], dir, daemon, inspectPort, anchor: Number.NaN };
}

// One domain with its own exchange: warms the daemon up, and the moment its ready queue is
// reaped gives the lane's reaper phase.
async function warmUp(lane: Lane): Promise<{ queue: string; done: number }> {
  lane.started = await memory(lane);
  const domain = `warm.${lane.tag}.test`;
  dns.set(domain, { MX: [{ exchange: `mx.${domain}`, priority: 10 }] });
  dns.set(`mx.${domain}`, { A: ['127.0.0.1'] });
  const r = await deliver(lane, [domain], Math.max(1, WARMUP), []);
  lane.warmRate = r.accepted / ((r.done - r.start) / 1000);
  log(
    `${lane.variant}: warm-up ${r.delivered}/${r.accepted} in ${((r.done - r.start) / 1000).toFixed(1)} s`,
  );
  return { queue: readyName(`mx.${domain}`), done: r.done };
}

async function runRound(lane: Lane, cycle: number): Promise<Round> {
  const domains = namesOf(lane, cycle);
  const perDomain = lane.variant === 'single' ? DOMAINS * PER_DOMAIN : PER_DOMAIN;
  publish(lane, domains);
  dns.queries.length = 0;
  // Just after a reap: nothing of the previous round is left to be reaped during this one.
  const reap = nextReap(lane, now() + 1000);
  await sleepUntil(reap + 700);
  const before = await memory(lane);
  const load = loadavg()[0]!;
  log(
    `${lane.variant} cycle ${cycle}: ${domains.length * perDomain} messages to ${domains.length} domains`,
  );
  const timeline: [number, number][] = [];
  const dropsBefore = udpDrops();
  const socketsBefore = dnsSocketDrops(dns.port);
  const r = await deliver(lane, domains, perDomain, timeline);
  const udpDropped = udpDrops() - dropsBefore;
  const socketsAfter = dnsSocketDrops(dns.port);
  const dnsDrops = {
    server: socketsAfter.server - socketsBefore.server,
    resolvers: socketsAfter.resolvers - socketsBefore.resolvers,
  };
  const seconds = (r.done - r.start) / 1000;
  log(
    `  injected in ${((r.injected - r.start) / 1000).toFixed(1)} s, delivered ${r.delivered}/${r.accepted} in ${seconds.toFixed(1)} s (${Math.round(r.accepted / seconds)} msg/s)${r.all ? '' : ' — NOT ALL, stopped at --timeout'}`,
  );
  const dnsQueries = dns.queries.length;
  if (udpDropped > 0)
    log(
      `  ${udpDropped} UDP datagrams dropped on a full receive buffer (host-wide); on the DNS server's socket ${dnsDrops.server}, on the daemons' resolver sockets ${dnsDrops.resolvers}`,
    );
  // The reap that follows the last delivery by more than idle_timeout (connections closed, ready
  // queues idle) and 6 s more: read the held queues once idle, at most 8 s before it (the
  // /metrics scrape and the collection take a while with 100,000 queues).
  const idleAt = r.done + (IDLE_S + 1) * 1000;
  const reapAfter = nextReap(lane, idleAt + 6000);
  const probe = readyName(exchangeOf(lane, domains[domains.length - 1]!));
  await sleepUntil(Math.max(idleAt, reapAfter - 8000));
  const g = await gauges(lane.daemon.http);
  const held = await memory(lane);
  const heldLate = now() > reapAfter - 500;
  let scheduledHeld = domains.length;
  let scheduledEstimated = false;
  if (reapAfter - REAP_MS > r.start && lane.variant !== 'single') {
    // A reap fell inside the round: it dropped the queues already delivered (their last message).
    const c = countAt(timeline, reapAfter - REAP_MS);
    const emptied = Math.min(domains.length, Math.max(0, c - (perDomain - 1) * domains.length));
    scheduledHeld = domains.length - emptied;
    scheduledEstimated = true;
  }
  const queues = scheduledHeld + g.readyQueues;
  const probeThere = await readyQueueExists(lane.daemon.http, probe);
  const goneAt = probeThere
    ? await awaitGone(lane, probe, Math.min(r.done + REAP_TIMEOUT_MS, reapAfter + 2 * REAP_MS))
    : undefined;
  let afterReap: Memory | undefined;
  let afterNextReap: Memory | undefined;
  let readyAfterReap: number | undefined;
  if (goneAt !== undefined) {
    await sleep(700);
    readyAfterReap = (await gauges(lane.daemon.http)).readyQueues;
    afterReap = await memory(lane);
    // The egress paths cached per domain outlive the queues by up to a reaper period.
    await sleepUntil(goneAt + REAP_MS + 700);
    afterNextReap = await memory(lane);
  } else {
    log(`  ${probe} not seen reaped (${probeThere ? 'within --reap-timeout' : 'gone already'})`);
    if (Number.isNaN(lane.anchor)) throw new Error('lost the reaper phase');
  }
  unpublish(lane, domains);
  return {
    variant: lane.variant,
    cycle,
    domains: domains.length,
    accepted: r.accepted,
    delivered: r.delivered,
    allDelivered: r.all,
    injectSeconds: (r.injected - r.start) / 1000,
    seconds,
    rate: r.accepted / seconds,
    dnsQueries,
    udpDropped,
    dnsDrops,
    scheduledHeld,
    scheduledEstimated,
    readyHeld: g.readyQueues,
    messagesAtHeld: g.messages,
    heldLate,
    before,
    held,
    afterReap,
    afterNextReap,
    readyAfterReap,
    reapSeconds: goneAt === undefined ? undefined : (goneAt - r.done) / 1000,
    // Two queues (the single variant) say nothing per queue: the reading's noise is larger.
    heapKibPerQueue: queues >= 100 ? ((held.heapMb - before.heapMb) * 1024) / queues : Number.NaN,
    rssKibPerQueue: queues >= 100 ? ((held.rssMb - before.rssMb) * 1024) / queues : Number.NaN,
    load,
  };
}

if (!values['no-build']) buildDaemon(root);
const dns = await startDnsServer({ records: { [SHARED_MX]: { A: ['127.0.0.1'] } } });
const dnsBuffer = widenDnsBuffer(dns.port);
// smtp-sink allowed SINK_SESSIONS concurrent sessions: own-mx keeps every domain's connection
// open for idle_timeout after its message, far more than the shared default of 1,024.
const sink = await startSink({ sessions: SINK_SESSIONS });
log(
  `sink: ${sink.kind} on 127.0.0.1:${sink.port}; DNS on ${dns.servers[0]}, receive buffer ${dnsBuffer === undefined ? 'not found (left at the default)' : `${Math.round(dnsBuffer / 1024)} KiB`}`,
);
const lanes: Lane[] = [];
const rounds: Round[] = [];
try {
  for (const v of variants) lanes.push(await startLane(v));
  const warm: { queue: string; done: number }[] = [];
  for (const lane of lanes) warm.push(await warmUp(lane));
  log('finding each daemon’s reaper phase (its warm-up ready queue reaped)…');
  await Promise.all(
    lanes.map(async (lane, i) => {
      const gone = await awaitGone(lane, warm[i]!.queue, warm[i]!.done + REAP_MS + 30_000);
      if (gone === undefined) throw new Error(`${lane.variant}: the warm-up queue was not reaped`);
    }),
  );
  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    // Every variant once per cycle, the one whose next reap comes first first (less waiting).
    const pending = [...lanes];
    while (pending.length > 0) {
      const t = now() + 1000;
      pending.sort((a, b) => nextReap(a, t) - nextReap(b, t));
      rounds.push(await runRound(pending.shift()!, cycle));
    }
  }
} finally {
  await Promise.all(lanes.map((l) => l.daemon.stop()));
  if (values.keep) log(`kept: ${lanes.map((l) => l.dir).join(' ')}`);
  else await Promise.all(lanes.map((l) => rm(l.dir, { recursive: true, force: true })));
  await sink.close();
  await dns.close();
}

for (const r of rounds) {
  const single = rounds.find((s) => s.variant === 'single' && s.cycle === r.cycle);
  if (single) r.ratio = r.rate / single.rate;
}

const median = (xs: number[]) => {
  const s = [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const f0 = (x: number | undefined) =>
  x === undefined || !Number.isFinite(x) ? '—' : Math.round(x).toLocaleString('en-US');
const f1 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(1));
const f2 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(2));
const pct = (x: number | undefined) =>
  x === undefined || !Number.isFinite(x) ? '—' : `${Math.round(x * 100)} %`;

console.log(
  `\n${DOMAINS.toLocaleString('en-US')} domains × ${PER_DOMAIN} of ${SIZE} B over HTTP (${PER_REQUEST} recipients per request, ${CONC} in flight), sink ${sink.kind}, idle_timeout ${IDLE_S} s; heap ${INSPECT ? 'after a full GC (inspector)' : 'as /metrics reads it (no GC)'}; node ${process.version}, ${cpus().length} cpus\n`,
);
console.log(
  '| variant | cycle | scheduled queues | delivered / accepted | all injected s | last delivery s | delivered msg/s | vs single | DNS queries (UDP drops) | idle queues held (scheduled + ready) | JS heap MB before → held → after reap → after next reap | heap KiB per idle queue | RSS MB before → held → after next reap | RSS KiB per idle queue | reap s after last delivery |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rounds) {
  console.log(
    `| ${r.variant} | ${r.cycle} | ${f0(r.domains)} | ${f0(r.delivered)} / ${f0(r.accepted)}${r.allDelivered ? '' : ' (timeout)'} | ${f1(r.injectSeconds)} | ${f1(r.seconds)} | ${f0(r.rate)} | ${r.variant === 'single' ? '' : pct(r.ratio)} | ${f0(r.dnsQueries)} (${f0(r.udpDropped)}) | ${f0(r.scheduledHeld)}${r.scheduledEstimated ? ' (est.)' : ''} + ${f0(r.readyHeld)}${r.heldLate ? ' (late)' : ''} | ${f1(r.before.heapMb)} → ${f1(r.held.heapMb)} → ${f1(r.afterReap?.heapMb)} → ${f1(r.afterNextReap?.heapMb)} | ${f2(r.heapKibPerQueue)} | ${f0(r.before.rssMb)} → ${f0(r.held.rssMb)} → ${f0(r.afterNextReap?.rssMb)} | ${f2(r.rssKibPerQueue)} | ${f1(r.reapSeconds)} |`,
  );
}
console.log(
  '\n| variant | median msg/s | median vs single | median heap KiB per idle queue | heap MB started → after each cycle’s reaps | RSS MB started → after each cycle’s reaps |',
);
console.log('|---|---|---|---|---|---|');
for (const lane of lanes) {
  const mine = rounds.filter((r) => r.variant === lane.variant);
  console.log(
    `| ${lane.variant} | ${f0(median(mine.map((r) => r.rate)))} | ${lane.variant === 'single' ? '' : pct(median(mine.map((r) => r.ratio ?? Number.NaN)))} | ${f2(median(mine.map((r) => r.heapKibPerQueue)))} | ${f1(lane.started?.heapMb)} → ${mine.map((r) => f1(r.afterNextReap?.heapMb)).join(', ')} | ${f0(lane.started?.rssMb)} → ${mine.map((r) => f0(r.afterNextReap?.rssMb)).join(', ')} |`,
  );
}
// Per idle queue by kind, cycle by cycle: shared-mx holds one scheduled queue per domain (and
// one ready queue), own-mx one of each per domain; the difference per domain is a ready queue.
const split: { cycle: number; scheduledKib: number; readyKib: number }[] = [];
for (let cycle = 1; cycle <= CYCLES; cycle++) {
  const shared = rounds.find((r) => r.variant === 'shared-mx' && r.cycle === cycle);
  const own = rounds.find((r) => r.variant === 'own-mx' && r.cycle === cycle);
  if (!shared || !own || shared.scheduledEstimated || own.scheduledEstimated) continue;
  const perDomain = (r: Round) => ((r.held.heapMb - r.before.heapMb) * 1024) / r.domains;
  split.push({
    cycle,
    scheduledKib: perDomain(shared),
    readyKib: ((perDomain(own) - perDomain(shared)) * own.domains) / Math.max(1, own.readyHeld),
  });
}
if (split.length > 0)
  console.log(
    `\nJS heap per idle queue by kind (shared-mx: per domain; own-mx less shared-mx: per ready queue), cycle by cycle: scheduled ${split.map((x) => f2(x.scheduledKib)).join(', ')} KiB; ready ${split.map((x) => f2(x.readyKib)).join(', ')} KiB`,
  );
await writeResults(root, 'many-queues', {
  split,
  domains: DOMAINS,
  perDomain: PER_DOMAIN,
  size: SIZE,
  cycles: CYCLES,
  conc: CONC,
  perRequest: PER_REQUEST,
  idleTimeoutSeconds: IDLE_S,
  sink: sink.kind,
  heapAfterGc: INSPECT,
  lanes: lanes.map((l) => ({ variant: l.variant, started: l.started, warmRate: l.warmRate })),
  rounds,
});
