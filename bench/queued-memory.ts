// What a queued message costs in memory, and what a restart costs in time, measured in-process:
// N messages are stored in a real spool (1 KiB bodies, the envelope and meta an HTTP injection
// gives them), each updated once as a failed attempt does (attempts 1, due in 20 minutes), and
// the spool is closed. Then, each step between gc() and process.memoryUsage():
//   A) reopen (the spool's index per message, plus the metadata it remembers for the first
//      enumeration), enumerate and drop the entries (the index alone);
//   B) reopen and queue every message in a real QueueManager exactly as the daemon's restart does
//      (restoreSpool of daemon/boot/start-queues.ts): the index plus the engine's cost;
//   C) a heap snapshot of B, every object reachable from the spool's index and from the engine's
//      messages attributed to a component (id string, index entry, sender, recipients, meta...);
//   D) the restart's time split: reading the segment files, their checksums, the spool's replay,
//      the enumeration (JSON.parse) and building the queued messages;
//   E) the same messages accepted by a real Receiver (batches of 100, as HTTP requests) into a
//      fresh spool and engine, each failing its first attempt: the cost before any restart.
//
//   node --expose-gc --import tsx --conditions=@sterna/source bench/queued-memory.ts \
//     [--n 100000] [--size 1024] [--dir /var/tmp] [--no-snapshot] [--profile] [--rounds 3]
//     [--unattributed] [--phase restart|received|both]
//
// --rounds R: the restart (B) is timed R times (the last one measured for memory); the table
// gives the fastest and the median. --unattributed: what the snapshot walk did not reach, by
// kind (to stderr), to find what else grows with the messages. --phase restart|received: only
// A-D or only E (both: E runs in a child process, on a heap nothing else has used).
//
// --profile: a CPU profile of B (inspector, in-process); its heaviest functions by self time.
//
// Bounded: N messages, written in batches of 200. In B they are due in 20 minutes, so the engine
// never tries them; in E each is tried once (the bench's policy fails it, no network) and then
// waits 20 minutes. Results go to stdout and bench/results/queued-memory-<time>.json.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import inspector from 'node:inspector';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { crc32 } from 'node:zlib';
// Relative imports: the workspace root does not link its packages.
import { restoreSpool } from '../apps/mta/src/daemon/boot/start-queues.js';
import type { QueueManager } from '../apps/mta/src/queue/queue-manager.js';
import { Receiver } from '../apps/mta/src/reception/receiver.js';
import { openSpool, type Spool, type SpoolEntry } from '../apps/mta/src/spool/index.js';
import { idleEngine } from '../apps/mta/test/support/idle-engine.js';
import { newSpoolId } from '../packages/core/src/engine.js';
import { silentLogger } from '../packages/core/src/index.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    size: { type: 'string', default: '1024' },
    dir: { type: 'string', default: '/var/tmp' },
    'no-snapshot': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
    phase: { type: 'string', default: 'both' },
    unattributed: { type: 'boolean', default: false },
  },
});
const N = Number(values.n);
const SIZE = Number(values.size);
const ROUNDS = Math.min(10, Math.max(1, Number(values.rounds)));
if (!(N > 0 && N <= 5_000_000) || !(SIZE > 0 && SIZE <= 1 << 20)) {
  throw new Error('--n must be in 1..5000000, --size in 1..1048576');
}
const gcNow = (globalThis as { gc?: () => void }).gc;
if (gcNow === undefined) throw new Error('run with node --expose-gc (see the header)');
const gc = (): void => {
  // Twice: the first full GC can leave weakly held garbage for the second.
  gcNow();
  gcNow();
};

/** Live JavaScript heap plus memory outside it (ArrayBuffers, Buffers), and the RSS. */
interface Mem {
  readonly heap: number;
  readonly external: number;
  readonly rss: number;
}
function mem(): Mem {
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external, rss: m.rss };
}
const perMessage = (a: Mem, b: Mem) => ({
  heap: (b.heap - a.heap) / N,
  external: (b.external - a.external) / N,
  total: (b.heap + b.external - a.heap - a.external) / N,
  rss: (b.rss - a.rss) / N,
});
const ms = (from: number) => performance.now() - from;

const work = await mkdtemp(path.join(values.dir, 'sterna-qmem-'));
const dataPath = path.join(work, 'data');
const spoolOptions = {
  dataPath,
  metaPath: path.join(work, 'meta'),
  minFreeSpace: 0,
  minFreeInodes: 0,
  freshCacheBytes: 0,
};
const hostname = os.hostname();
const results: Record<string, unknown> = { n: N, size: SIZE, node: process.version };

// As the HTTP injection builds it (http/inject.ts): one sender, one recipient, the listener's
// meta; the client port changes with the request (100 recipients per request).
function envelope(i: number): SpoolEntry {
  return {
    id: newSpoolId(),
    sender: 'bench@example.org',
    recipients: [`user${i}@bench.example`],
    meta: {
      http_auth: null,
      reception_protocol: 'HTTP',
      received_from: `127.0.0.1:${40000 + (Math.floor(i / 100) % 20000)}`,
      received_via: '127.0.0.1:8000',
      hostname,
    },
    size: SIZE,
    num_attempts: 0,
  };
}

function body(i: number): Buffer {
  const head = `From: bench@example.org\r\nTo: user${i}@bench.example\r\nSubject: queued ${i}\r\n\r\n`;
  const data = Buffer.alloc(SIZE, 'x');
  data.write(head);
  data.write('\r\n', SIZE - 2);
  return data;
}

try {
  const f = (x: number) => x.toFixed(0);
  // --- C: which objects those bytes are
  const breakdown = async (label: string): Promise<Record<string, unknown> | undefined> => {
    if (values['no-snapshot']) return undefined;
    const started = performance.now();
    const parts = await attribute();
    let sum = 0;
    console.log(
      `\n| component (heap snapshot, ${label}) | bytes per message | objects per message |`,
    );
    console.log('|---|---|---|');
    for (const [name, { bytes, count }] of [...parts].sort((a, b) => b[1].bytes - a[1].bytes)) {
      sum += bytes;
      console.log(`| ${name} | ${(bytes / N).toFixed(1)} | ${(count / N).toFixed(2)} |`);
    }
    console.log(`| **sum** | **${(sum / N).toFixed(1)}** | |`);
    process.stderr.write(`snapshot analysed in ${(ms(started) / 1000).toFixed(1)} s\n`);
    return Object.fromEntries(
      [...parts].map(([k, v]) => [k, { bytes: v.bytes / N, objects: v.count / N }]),
    );
  };
  if (values.phase !== 'received') {
    // --- store N messages and their one failed attempt, as the daemon would have
    {
      const started = performance.now();
      const spool = await openSpool(spoolOptions);
      const due = Date.now() + 20 * 60_000;
      for (let first = 0; first < N; first += 200) {
        const batch = Array.from({ length: Math.min(200, N - first) }, (_, k) =>
          envelope(first + k),
        );
        await Promise.all(batch.map((e, k) => spool.store(e, body(first + k))));
        await Promise.all(batch.map((e) => spool.update({ ...e, num_attempts: 1, due })));
      }
      await spool.close();
      process.stderr.write(`stored ${N} messages in ${(ms(started) / 1000).toFixed(1)} s\n`);
    }
    const segments = (await readdir(dataPath)).filter((f) => f.endsWith('.seg')).sort();

    // --- D1: the raw cost of reading the files, and of their checksums
    let fileBytes = 0;
    let readMs = 0;
    let crcMs = 0;
    {
      const chunk = Buffer.allocUnsafe(1 << 20);
      for (const name of segments) {
        const fh = await open(path.join(dataPath, name), 'r');
        try {
          for (;;) {
            let t = performance.now();
            const { bytesRead } = await fh.read(chunk, 0, chunk.length, null);
            readMs += ms(t);
            if (bytesRead === 0) break;
            fileBytes += bytesRead;
            t = performance.now();
            crc32(chunk.subarray(0, bytesRead));
            crcMs += ms(t);
          }
        } finally {
          await fh.close();
        }
      }
    }

    // --- A: the spool's index alone
    const base = mem();
    let t = performance.now();
    let spool: Spool | undefined = await openSpool(spoolOptions);
    const openMs = ms(t);
    const opened = mem();
    t = performance.now();
    let count = 0;
    for await (const _ of spool.enumerate()) count++;
    const enumerateMs = ms(t);
    if (count !== N) throw new Error(`enumerated ${count} of ${N}`);
    const indexOnly = mem();
    await spool.close();
    spool = undefined; // nothing of A is left to count in B

    // --- B: reopen and queue every message as the daemon's restart does (R times, the last kept)
    const opens: number[] = [];
    const restores: number[] = [];
    const cpus: number[] = []; // CPU ms of the process (the wall clock suffers on a busy machine)
    let base2 = mem();
    let queues: QueueManager | undefined;
    let profile: Awaited<ReturnType<Awaited<ReturnType<typeof startProfile>>>> | undefined;
    for (let round = 1; round <= ROUNDS; round++) {
      if (queues !== undefined) {
        await queues.stop(0);
        await spool?.close();
        queues = undefined;
        spool = undefined;
        base2 = mem();
      }
      const profiler = values.profile && round === ROUNDS ? await startProfile() : undefined;
      const cpu = process.cpuUsage();
      t = performance.now();
      spool = await openSpool(spoolOptions);
      opens.push(ms(t));
      // Nothing behind the engine: every message is due in 20 minutes, so no policy call, no
      // driver and no log record is ever made.
      queues = idleEngine(spool, 'bench');
      t = performance.now();
      await restoreSpool(spool, queues, silentLogger);
      restores.push(ms(t));
      const used = process.cpuUsage(cpu);
      cpus.push((used.user + used.system) / 1000);
      profile = await profiler?.();
      if (queues.scheduledCount !== N) throw new Error(`queued ${queues.scheduledCount} of ${N}`);
    }
    const restored = mem();
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    const median = (xs: number[]) => sorted(xs)[Math.floor((xs.length - 1) / 2)]!;
    const restarts = opens.map((o, i) => o + restores[i]!);
    const reopenMs = sorted(opens)[0]!;
    const restoreMs = sorted(restores)[0]!;

    const index = perMessage(base, indexOnly);
    const withMetas = perMessage(base, opened);
    const total = perMessage(base2, restored);
    const engineCost = {
      heap: total.heap - index.heap,
      external: total.external - index.external,
      total: total.total - index.total,
    };
    console.log(
      `\nqueued messages: ${N}, bodies ${SIZE} B, ${segments.length} segments, ${(fileBytes / 2 ** 20).toFixed(0)} MiB on disk`,
    );
    console.log(
      '\n| bytes per message | JS heap | outside the heap (ArrayBuffers) | total | RSS |',
    );
    console.log('|---|---|---|---|---|');
    console.log(
      `| spool index (after the first enumeration) | ${f(index.heap)} | ${f(index.external)} | ${f(index.total)} | ${f(index.rss)} |`,
    );
    console.log(
      `| spool right after open (index + remembered metadata) | ${f(withMetas.heap)} | ${f(withMetas.external)} | ${f(withMetas.total)} | ${f(withMetas.rss)} |`,
    );
    console.log(
      `| engine (queued messages, by difference) | ${f(engineCost.heap)} | ${f(engineCost.external)} | ${f(engineCost.total)} | |`,
    );
    console.log(
      `| spool index + engine (as after a restart) | ${f(total.heap)} | ${f(total.external)} | ${f(total.total)} | ${f(total.rss)} |`,
    );
    const us = (x: number) => ((x * 1000) / N).toFixed(2);
    console.log('\n| restart step | ms | µs per message |');
    console.log('|---|---|---|');
    console.log(
      `| read the segment files (1 MiB reads, ${(fileBytes / 2 ** 20).toFixed(0)} MiB) | ${f(readMs)} | ${us(readMs)} |`,
    );
    console.log(`| CRC-32 of every byte | ${f(crcMs)} | ${us(crcMs)} |`);
    console.log(`| openSpool (replay: read, checksums, index) | ${f(openMs)} | ${us(openMs)} |`);
    console.log(
      `| enumerate (JSON.parse of the remembered metadata) | ${f(enumerateMs)} | ${us(enumerateMs)} |`,
    );
    console.log(
      `| openSpool again (page cache warm), fastest of ${ROUNDS} | ${f(reopenMs)} | ${us(reopenMs)} |`,
    );
    console.log(
      `| restoreSpool (enumerate + build + schedule), fastest | ${f(restoreMs)} | ${us(restoreMs)} |`,
    );
    const fastest = sorted(restarts)[0]!;
    const middle = median(restarts);
    console.log(
      `| **restart = openSpool + restoreSpool**, fastest / median of ${ROUNDS} | **${f(fastest)}** / ${f(middle)} | **${us(fastest)}** / ${us(middle)} |`,
    );
    const leastCpu = sorted(cpus)[0]!;
    console.log(
      `| CPU time of the restart (user + system), least / median | ${f(leastCpu)} / ${f(median(cpus))} | ${us(leastCpu)} / ${us(median(cpus))} |`,
    );
    if (profile !== undefined) {
      console.log('\n| function (self time, profile of B) | ms | share |');
      console.log('|---|---|---|');
      for (const row of profile)
        console.log(`| ${row.name} | ${f(row.ms)} | ${(row.share * 100).toFixed(1)} % |`);
      results.profile = profile;
    }
    Object.assign(results, {
      segments: segments.length,
      fileBytes,
      bytesPerMessage: { index, withMetas, engine: engineCost, total },
      restartMs: {
        read: readMs,
        crc: crcMs,
        open: openMs,
        enumerate: enumerateMs,
        reopen: opens,
        restore: restores,
        restartCpu: cpus,
      },
    });

    results.components = await breakdown('after a restart');
    await queues?.stop(0);
    await spool?.close();
    queues = undefined;
    spool = undefined;
  }

  // --- E: the same messages as the receiver queues them, each failing its first attempt (the
  // engine's policy throws) and waiting 20 minutes: the daemon before a restart.
  if (values.phase === 'both') {
    // E in a process of its own: what the snapshots above parsed lingers in this heap for a
    // while, and would be counted against E's messages.
    const args = [`--n=${N}`, `--size=${SIZE}`, `--dir=${values.dir}`];
    if (values['no-snapshot']) args.push('--no-snapshot');
    if (values.unattributed) args.push('--unattributed');
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), ...args, '--phase=received'],
      { stdio: 'inherit', timeout: 900_000 },
    );
    if (child.status !== 0)
      throw new Error(`the received phase failed (${child.status ?? child.signal})`);
  } else if (values.phase === 'received') {
    const received = { ...spoolOptions, dataPath: path.join(work, 'received') };
    const before = mem();
    const live = await openSpool(received);
    const engineE = idleEngine(live, 'bench');
    const receiver = new Receiver({
      spool: live,
      queues: engineE,
      logs: { write: () => {} },
      nodeId: 'bench',
      recordHeaders: false,
    });
    const t = performance.now();
    for (let first = 0; first < N; first += 100) {
      const batch = Array.from({ length: Math.min(100, N - first) }, (_, k) => {
        const e = envelope(first + k);
        return {
          id: e.id,
          sender: e.sender,
          recipients: [...e.recipients],
          meta: { ...e.meta },
          data: body(first + k),
        };
      });
      await receiver.accept(batch, null);
    }
    const deadline = Date.now() + 300_000;
    while (engineE.counters.transientFailures < N && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    if (engineE.counters.transientFailures < N)
      throw new Error(`only ${engineE.counters.transientFailures} of ${N} attempted`);
    const receivedMs = ms(t);
    const after = mem();
    const cost = perMessage(before, after);
    console.log(
      `\nas received (${N} accepted in batches of 100, each attempted once, in ${(receivedMs / 1000).toFixed(1)} s): ${f(cost.heap)} B of heap + ${f(cost.external)} B outside it per message (spool index + engine), RSS ${f(cost.rss)} B`,
    );
    results.received = {
      bytesPerMessage: cost,
      ms: receivedMs,
      components: await breakdown('as received'),
    };
    await engineE.stop(0);
    await live.close();
  }

  const out = fileURLToPath(new URL('./results/', import.meta.url));
  await mkdir(out, { recursive: true });
  const file = path.join(
    out,
    `queued-memory-${values.phase}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
  );
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stderr.write(`results: ${file}\n`);
} finally {
  await rm(work, { recursive: true, force: true });
}

/** Starts the CPU profiler; the function returned stops it and sums self time per function. */
async function startProfile(): Promise<
  () => Promise<{ name: string; ms: number; share: number }[]>
> {
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
    );
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  return async () => {
    const { profile } = (await post('Profiler.stop')) as {
      profile: {
        nodes: {
          id: number;
          callFrame: { functionName: string; url: string; lineNumber: number };
        }[];
        samples: number[];
        timeDeltas: number[];
      };
    };
    session.disconnect();
    const frame = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
    const self = new Map<string, number>();
    let all = 0;
    profile.samples.forEach((id, i) => {
      const c = frame.get(id)!;
      const where =
        c.url === '' ? '' : ` (${c.url.replace(/^.*\/(apps|packages)\//, '')}:${c.lineNumber + 1})`;
      const key = `${c.functionName || '(anonymous)'}${where}`;
      const dt = (profile.timeDeltas[i] ?? 0) / 1000;
      self.set(key, (self.get(key) ?? 0) + dt);
      all += dt;
    });
    return [...self]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 25)
      .map(([name, time]) => ({ name, ms: time, share: time / all }));
  };
}

/**
 * Takes a heap snapshot and attributes every object reachable from the spool's index (the
 * `index` of the LocalSpool) and from the engine (the QueueManager's `#messages` and `#heap`) to
 * a component, by the path that reaches it. Each object is counted once, under the first path
 * that reaches it: the spool's index is walked first, so an id string shared by both counts there.
 * Hidden classes, prototypes and other shared structure are not followed.
 */
async function attribute(): Promise<Map<string, { bytes: number; count: number }>> {
  const chunks: Buffer[] = [];
  for await (const c of v8.getHeapSnapshot()) chunks.push(c as Buffer);
  const snap = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
    snapshot: {
      meta: {
        node_fields: string[];
        node_types: [string[]];
        edge_fields: string[];
        edge_types: [string[]];
      };
    };
    nodes: number[];
    edges: number[];
    strings: string[];
  };
  chunks.length = 0;
  const { meta } = snap.snapshot;
  const NF = meta.node_fields.length;
  const EF = meta.edge_fields.length;
  const [T, NAME, SIZE_AT, EC] = ['type', 'name', 'self_size', 'edge_count'].map((k) =>
    meta.node_fields.indexOf(k),
  ) as [number, number, number, number];
  const [ET, EN, TO] = ['type', 'name_or_index', 'to_node'].map((k) =>
    meta.edge_fields.indexOf(k),
  ) as [number, number, number];
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const { nodes, edges, strings } = snap;
  const count = nodes.length / NF;
  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0; i < count; i++) firstEdge[i + 1] = firstEdge[i]! + nodes[i * NF + EC]! * EF;
  const type = (n: number) => nodeTypes[nodes[n * NF + T]!]!;
  const name = (n: number) => strings[nodes[n * NF + NAME]!]!;
  interface Edge {
    readonly kind: string;
    readonly name: string;
    readonly to: number;
  }
  const edgesOf = (n: number): Edge[] => {
    const out: Edge[] = [];
    for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e += EF) {
      const kind = edgeTypes[edges[e + ET]!]!;
      const raw = edges[e + EN]!;
      const label = kind === 'element' || kind === 'hidden' ? String(raw) : strings[raw]!;
      out.push({ kind, name: label, to: edges[e + TO]! / NF });
    }
    return out;
  };
  const property = (n: number, key: string) =>
    edgesOf(n).find((e) => e.kind === 'property' && e.name === key)?.to;
  const byName = (wanted: string) => {
    for (let n = 0; n < count; n++) if (type(n) === 'object' && name(n) === wanted) return n;
    throw new Error(`no ${wanted} in the heap snapshot`);
  };

  const claimed = new Uint8Array(count);
  const totals = new Map<string, { bytes: number; count: number }>();
  const claim = (n: number, label: string): boolean => {
    if (claimed[n]) return false;
    claimed[n] = 1;
    const slot = totals.get(label) ?? { bytes: 0, count: 0 };
    slot.bytes += nodes[n * NF + SIZE_AT]!;
    slot.count++;
    totals.set(label, slot);
    return true;
  };
  // Not followed: hidden classes, prototypes, functions and their contexts (a class with private
  // methods brands its instances with a link to the class's context), code.
  const skip = (e: Edge) =>
    e.kind === 'weak' ||
    e.kind === 'shortcut' ||
    e.kind === 'context' ||
    e.name === 'map' ||
    e.name === '__proto__' ||
    e.name === 'constructor' ||
    type(e.to) === 'closure' ||
    type(e.to) === 'code' ||
    name(e.to).startsWith('system / Context');
  // Claims `n` and everything below it under `label` (strings: their parts too).
  const all = (n: number, label: string) => {
    const stack = [n];
    while (stack.length > 0) {
      const m = stack.pop()!;
      if (!claim(m, label)) continue;
      for (const e of edgesOf(m)) if (!skip(e)) stack.push(e.to);
    }
  };
  const isString = (n: number) =>
    ['string', 'concatenated string', 'sliced string'].includes(type(n));

  // The spool's index.
  const localSpool = byName('LocalSpool');
  const index = property(localSpool, 'index');
  if (index === undefined) throw new Error('LocalSpool has no index');
  // A Map's table: keys that are strings are the id strings; objects are index entries.
  const spoolPart = (n: number, label: string) => {
    if (!claim(n, label)) return;
    for (const e of edgesOf(n)) {
      if (skip(e)) continue;
      if (e.name === 'table' && name(n) === 'Map') {
        claim(e.to, `${label}: Map table (hash buckets and entries)`);
        for (const k of edgesOf(e.to)) {
          if (skip(k)) continue;
          if (isString(k.to)) all(k.to, 'id string');
          else if (type(k.to) === 'object') spoolPart(k.to, 'spool index: IndexEntry object');
          else all(k.to, `${label}: Map values`);
        }
      } else if (isString(e.to)) all(e.to, 'id string');
      else if (/Array$/.test(name(e.to))) all(e.to, 'spool index: typed-array columns');
      else if (label === 'spool index') spoolPart(e.to, `spool index: ${e.name}`);
      else all(e.to, label);
    }
  };
  spoolPart(index, 'spool index');

  // The engine's messages.
  const manager = byName('QueueManager');
  const messages = property(manager, '#messages');
  const heap = property(manager, '#heap');
  if (messages === undefined || heap === undefined) throw new Error('QueueManager has changed');
  const queued = (n: number) => {
    if (!claim(n, 'engine: QueuedMessage object')) return;
    for (const e of edgesOf(n)) {
      if (skip(e)) continue;
      if (e.name === 'properties' || e.name === 'elements')
        all(e.to, 'engine: QueuedMessage object');
      else if (e.name === 'id') all(e.to, 'engine: id string (when not the index key)');
      else if (e.name === 'recipients') {
        claim(e.to, 'engine: recipients array');
        for (const r of edgesOf(e.to)) {
          if (skip(r)) continue;
          if (r.name === 'elements') {
            claim(r.to, 'engine: recipients array');
            for (const s of edgesOf(r.to)) if (!skip(s)) all(s.to, 'engine: recipient string');
          }
        }
      } else if (e.name === 'meta') {
        claim(e.to, 'engine: meta object');
        for (const v of edgesOf(e.to)) {
          if (skip(v)) continue;
          if (v.name === 'properties' || v.name === 'elements') claim(v.to, 'engine: meta object');
          all(v.to, 'engine: meta values');
        }
      } else if (
        type(e.to) === 'number' ||
        type(e.to) === 'heap number' ||
        name(e.to) === 'heap number'
      )
        all(e.to, 'engine: boxed numbers (due)');
      else if (isString(e.to)) all(e.to, `engine: ${e.name} string`);
      else all(e.to, `engine: ${e.name}`);
    }
  };
  claim(messages, 'engine: #messages Map table');
  for (const e of edgesOf(messages)) {
    if (skip(e) || e.name !== 'table') continue;
    claim(e.to, 'engine: #messages Map table');
    for (const k of edgesOf(e.to)) {
      if (skip(k)) continue;
      if (isString(k.to)) all(k.to, 'engine: id string (when not the index key)');
      else if (type(k.to) === 'object') queued(k.to);
    }
  }
  const items = property(heap, '#items');
  if (items !== undefined) {
    claim(items, 'engine: timer heap array');
    for (const e of edgesOf(items)) {
      if (skip(e) || e.name !== 'elements') continue;
      claim(e.to, 'engine: timer heap array');
      for (const m of edgesOf(e.to)) if (!skip(m) && type(m.to) === 'object') queued(m.to);
    }
  }
  // What nothing above reached, grouped by kind and name, when there is a lot of it.
  if (values.unattributed) {
    const rest = new Map<string, { bytes: number; count: number }>();
    for (let n = 0; n < count; n++) {
      if (claimed[n]) continue;
      const key = `${type(n)}: ${isString(n) ? '(string)' : name(n).slice(0, 60)}`;
      const slot = rest.get(key) ?? { bytes: 0, count: 0 };
      slot.bytes += nodes[n * NF + SIZE_AT]!;
      slot.count++;
      rest.set(key, slot);
    }
    for (const [key, slot] of [...rest].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 12))
      process.stderr.write(
        `unattributed ${key}: ${(slot.bytes / N).toFixed(1)} B, ${(slot.count / N).toFixed(2)} per message\n`,
      );
  }
  // Shared items of under a byte per message (hidden classes, one-off objects) are left out.
  for (const [label, slot] of totals) if (slot.bytes < N) totals.delete(label);
  return totals;
}
