// Spool format benchmark: which on-disk layout gives durable stores fastest on this machine.
//
//   npx tsx --conditions=@sterna/source bench/spool.ts [--messages 20000] [--writers 20]
//                                                       [--size 4096] [--dir /var/tmp]
//
// Every case stores N messages of SIZE bytes from W concurrent writers, each writer awaiting
// its store before the next (as W SMTP sessions would), and counts fsync-family calls:
//   a) file-per-message: open tmp, write, fsync, close, rename, fsync the directory
//   b) segment log, group commit: append records to one file; one fdatasync covers every record
//      that arrived while the previous sync ran (a minimal prototype, no index)
//   c) the real spool (apps/mta/src/spool): b) plus checksums, index, meta records, lock
//   d) the real spool, each message's whole life: store, read, remove (compaction running)
// Results go to stdout and to bench/results/spool-<timestamp>.json.
import { mkdir, mkdtemp, open, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
// Relative imports: the workspace root does not link its packages.
import { openSpool } from '../apps/mta/src/spool/index.js';
import { newSpoolId } from '../packages/core/src/engine.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    writers: { type: 'string', default: '20' },
    size: { type: 'string', default: '4096' },
    dir: { type: 'string', default: '/var/tmp' },
    only: { type: 'string' },
  },
});
const N = Number(values.messages);
const W = Number(values.writers);
const SIZE = Number(values.size);

interface CaseResult {
  name: string;
  messages: number;
  seconds: number;
  msgsPerSec: number;
  syncs: number;
  syncsPerMessage: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU (user + system) of this process per message: what the spool costs the daemon. */
  cpuUsPerMessage: number;
}

/** Runs `store` N times from W concurrent chains; returns the timing. */
async function drive(
  name: string,
  store: (i: number, data: Buffer) => Promise<void>,
  syncs: () => number,
): Promise<CaseResult> {
  const data = Buffer.alloc(SIZE, 120);
  const latencies: number[] = [];
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: W }, async () => {
      while (next < N) {
        const i = next++;
        const s = performance.now();
        await store(i, data);
        latencies.push(performance.now() - s);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  const result = {
    name,
    messages: N,
    seconds: Number(seconds.toFixed(3)),
    msgsPerSec: Math.round(N / seconds),
    syncs: syncs(),
    syncsPerMessage: Number((syncs() / N).toFixed(4)),
    p50Ms: Number((latencies[Math.floor(N * 0.5)] ?? 0).toFixed(3)),
    p99Ms: Number((latencies[Math.floor(N * 0.99)] ?? 0).toFixed(3)),
    cpuUsPerMessage: Math.round((cpu.user + cpu.system) / N),
  };
  console.log(
    `${name.padEnd(34)} ${String(result.msgsPerSec).padStart(7)} msg/s  ${result.syncsPerMessage.toFixed(4)} syncs/msg  p50 ${result.p50Ms} ms  p99 ${result.p99Ms} ms  cpu ${result.cpuUsPerMessage} µs/msg`,
  );
  return result;
}

async function filePerMessage(dir: string): Promise<CaseResult> {
  let syncs = 0;
  const dirHandle = await open(dir, 'r');
  const result = await drive(
    'a) file per message + dir fsync',
    async (i, data) => {
      const tmp = path.join(dir, `.tmp-${i}`);
      const fh = await open(tmp, 'w');
      await fh.write(data, 0, data.length, 0);
      await fh.sync();
      await fh.close();
      await rename(tmp, path.join(dir, `m-${i}`));
      await dirHandle.sync();
      syncs += 2;
    },
    () => syncs,
  );
  await dirHandle.close();
  return result;
}

async function groupCommitLog(dir: string): Promise<CaseResult> {
  const fh = await open(path.join(dir, 'segment'), 'wx+');
  let syncs = 0;
  let position = 0;
  let queue: { buffers: Buffer[]; done: () => void }[] = [];
  let running = false;
  const header = Buffer.alloc(36);
  async function run(): Promise<void> {
    running = true;
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      const buffers = batch.flatMap((p) => p.buffers);
      const total = buffers.reduce((n, b) => n + b.length, 0);
      await fh.writev(buffers, position);
      position += total;
      await fh.datasync();
      syncs++;
      for (const p of batch) p.done();
    }
    running = false;
  }
  const result = await drive(
    'b) segment log, group commit',
    (_i, data) =>
      new Promise<void>((done) => {
        queue.push({ buffers: [header, data], done });
        if (!running) void run();
      }),
    () => syncs,
  );
  await fh.close();
  return result;
}

async function realSpool(dir: string): Promise<CaseResult> {
  const spool = await openSpool({
    dataPath: path.join(dir, 'data'),
    metaPath: path.join(dir, 'meta'),
  });
  const before = spool.stats().syncs ?? 0;
  const recipients = ['someone@example.com'];
  const result = await drive(
    'c) Sterna spool (segment log)',
    (_i, data) =>
      spool.store(
        { id: newSpoolId(), sender: 'sender@example.com', recipients, meta: {}, size: data.length },
        data,
      ),
    () => (spool.stats().syncs ?? 0) - before,
  );
  await spool.close();
  return result;
}

/** d) A message's whole life in the spool: store, read back (delivery), remove (delivered). */
async function lifecycle(dir: string): Promise<CaseResult> {
  const spool = await openSpool({
    dataPath: path.join(dir, 'data'),
    metaPath: path.join(dir, 'meta'),
    segmentSize: 8 * 1024 * 1024,
  });
  const before = spool.stats().syncs ?? 0;
  const recipients = ['someone@example.com'];
  const result = await drive(
    'd) spool: store + read + remove',
    async (_i, data) => {
      const id = newSpoolId();
      const entry = { id, sender: 'sender@example.com', recipients, meta: {}, size: data.length };
      await spool.store(entry, data);
      await spool.read(id);
      await spool.remove(id);
    },
    () => (spool.stats().syncs ?? 0) - before,
  );
  const { diskBytes, segments, compactions } = spool.stats();
  console.log(
    `   after ${N} messages: ${segments} segments, ${diskBytes} bytes on disk, ${compactions} compactions`,
  );
  await spool.close();
  return { ...result, diskBytes, compactions } as CaseResult;
}

const cases: [string, (dir: string) => Promise<CaseResult>][] = [
  ['a', filePerMessage],
  ['b', groupCommitLog],
  ['c', realSpool],
  ['d', lifecycle],
];
console.log(
  `# load average ${os.loadavg()[0]!.toFixed(1)}; ${N} messages of ${SIZE} B, ${W} concurrent writers, under ${values.dir}, node ${process.version}`,
);
const results: CaseResult[] = [];
for (const [key, run] of cases) {
  if (values.only && !values.only.includes(key)) continue;
  const dir = await mkdtemp(path.join(values.dir, 'sterna-spool-bench-'));
  try {
    results.push(await run(dir));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const out = path.join(import.meta.dirname, 'results', `spool-${stamp}.json`);
await mkdir(path.dirname(out), { recursive: true });
await writeFile(
  out,
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, messages: N, writers: W, size: SIZE, dir: values.dir, results }, null, 2)}\n`,
);
console.log(`# written ${path.relative(process.cwd(), out)}`);
