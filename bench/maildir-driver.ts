/**
 * Maildir driver throughput against the raw Maildir write sequence done directly with node:fs,
 * measured in the same run, on the same disk, at the same concurrency; plus the driver with group
 * commit turned off, to show what it is worth.
 *
 *   pnpm bench:maildir                 (20,000 messages of 4 KiB, concurrency 1 and 16)
 *   pnpm bench:maildir -- --messages 2000 --concurrency 1,4,16 --rounds 4
 *
 * Prints a table and writes bench/results/maildir-<timestamp>.json. Everything is written under
 * a fresh directory in os.tmpdir() and removed at the end.
 */
import { constants } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { cpus, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { egressPath } from '../packages/core/src/engine.js';
import {
  createMessage,
  isDeliveryFailure,
  type Message,
  silentLogger,
  systemClock,
} from '../packages/core/src/index.js';
// Relative imports: the workspace root does not depend on its packages (pnpm does not link them
// here); with `--conditions=@sterna/source` these resolve to the same modules the driver uses.
import {
  escapeHostname,
  MaildirConnection,
  maildirDriver,
} from '../packages/protocol-maildir/src/index.js';
import { compileTemplate } from '../packages/protocol-maildir/src/template.js';
import { median } from './lib/stats.js';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    size: { type: 'string', default: '4096' },
    concurrency: { type: 'string', default: '1,16' },
    rounds: { type: 'string', default: '50' },
  },
});
const MESSAGES = Number(args.messages);
const SIZE = Number(args.size);
const LEVELS = args.concurrency.split(',').map(Number);
const ROUNDS = Number(args.rounds);
if (!(MESSAGES > 0 && SIZE > 0 && ROUNDS > 0 && LEVELS.every((c) => c > 0))) {
  throw new Error('--messages, --size, --rounds and --concurrency must be positive numbers');
}

// A 4 KiB message as the listener queues it: headers, CRLF lines.
function payload(size: number): Uint8Array {
  const head = 'Received: from bench (127.0.0.1) by sterna.test\r\nSubject: bench\r\n\r\n';
  const line = `${'x'.repeat(76)}\r\n`;
  let text = head;
  while (text.length < size) text += line;
  return new TextEncoder().encode(`${text.slice(0, size - 2)}\r\n`);
}
const DATA = payload(SIZE);
// libuv's pool runs every fs call; its size bounds how many fsyncs are in flight at once.
// biome-ignore lint/suspicious/noUndeclaredEnvVars: reported with the results, not a build input
const THREADPOOL = process.env.UV_THREADPOOL_SIZE;

/** Runs `task(i)` for i in 0..count-1 with at most `concurrency` in flight. */
async function bounded(count: number, concurrency: number, task: (i: number) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

const elapsed = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;

/** One way of writing messages: `run(count)` writes that many and resolves when all are durable. */
interface Writer {
  /** Untimed set-up of the next run (the driver's messages: the engine has them already). */
  prepare(count: number): void;
  run(count: number, concurrency: number): Promise<void>;
  dirSyncs(): number;
  close(): Promise<void>;
}

// The raw sequence, as directly as node:fs allows: open O_EXCL, write, fsync, close, rename, and
// an fsync of new/ through a directory handle kept open for the whole run (cheaper than opening
// it per message, so the baseline is as fast as a plain implementation gets).
async function rawWriter(dir: string): Promise<Writer> {
  await Promise.all(['tmp', 'new', 'cur'].map((d) => mkdir(join(dir, d), { recursive: true })));
  const newDir = await open(join(dir, 'new'), 'r');
  const flags = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY;
  let seq = 0;
  let dirSyncs = 0;
  return {
    prepare() {},
    run: (count, concurrency) =>
      bounded(count, concurrency, async () => {
        const name = `${seq++}.raw`;
        const tmp = join(dir, 'tmp', name);
        const file = await open(tmp, flags, 0o666);
        try {
          let offset = 0;
          while (offset < DATA.byteLength) {
            offset += (await file.write(DATA, offset, DATA.byteLength - offset)).bytesWritten;
          }
          await file.sync();
        } finally {
          await file.close();
        }
        await rename(tmp, join(dir, 'new', name));
        await newDir.sync();
        dirSyncs++;
      }),
    dirSyncs: () => dirSyncs,
    close: () => newDir.close(),
  };
}

// The driver through a real connection, as the engine uses it. `groupCommit: false` builds the
// same connection with one `new/` fsync per message, to measure what group commit is worth.
async function driverWriter(dir: string, groupCommit = true): Promise<Writer> {
  const noDns = () => Promise.reject(new Error('no DNS in this benchmark'));
  const ctx = {
    logger: silentLogger,
    clock: systemClock,
    signal: new AbortController().signal,
    resolver: { resolveMx: noDns, resolve4: noDns, resolve6: noDns },
    hostname: hostname(),
  };
  const site = { name: '', service: 'maildir' };
  const connection = groupCommit
    ? await maildirDriver.connect(site, { maildir_path: dir }, ctx, egressPath())
    : new MaildirConnection(compileTemplate(dir), {
        host: escapeHostname(ctx.hostname),
        now: () => ctx.clock.now(),
        groupCommit: false,
      });
  if (isDeliveryFailure(connection) || !(connection instanceof MaildirConnection)) {
    throw new Error('could not open a maildir connection');
  }
  const options = { signal: new AbortController().signal };
  const message = (): Message =>
    createMessage({ sender: 'bench@sterna.test', recipients: ['rcpt@bench.example'], data: DATA });
  // Creating the maildir is not the steady state: the connection creates it before timing starts.
  await connection.send(message(), options);
  const warm = connection.directorySyncs;
  let messages: Message[] = [];
  return {
    prepare(count) {
      messages = Array.from({ length: count }, message);
    },
    async run(count, concurrency) {
      await bounded(count, concurrency, async (i) => {
        const [outcome] = await connection.send(messages[i]!, options);
        if (outcome?.kind !== 'delivered') {
          throw new Error(`not delivered: ${outcome?.response.content}`);
        }
      });
    },
    dirSyncs: () => connection.directorySyncs - warm,
    close: () => connection.close(),
  };
}

const root = await mkdtemp(join(tmpdir(), 'sterna-bench-maildir-'));
const cleanup = () => rm(root, { recursive: true, force: true });
process.once('SIGINT', () => {
  void cleanup().finally(() => process.exit(130));
});

interface Side {
  msgsPerSec: number;
  seconds: number;
  dirSyncs: number;
  /** This side's time over raw's: rate relative to raw (1 = same speed). */
  ratio: number;
  /** The same ratio per round, and its median (robust against bursts of load elsewhere). */
  roundRatios: number[];
  medianRatio: number;
}
const SIDES = ['raw', 'driver', 'ungrouped'] as const;
type SideName = (typeof SIDES)[number];
interface Row {
  concurrency: number;
  sides: Record<SideName, Side>;
}
const rows: Row[] = [];
try {
  for (const concurrency of LEVELS) {
    // Same disk, fresh directories; the sides take turns in rounds (rotating who goes first) so a
    // drift in the disk's speed during the run hits all alike.
    const dirs = Object.fromEntries(SIDES.map((n) => [n, join(root, `${n}-${concurrency}`)]));
    const writers: Record<SideName, Writer> = {
      raw: await rawWriter(dirs.raw!),
      driver: await driverWriter(dirs.driver!),
      ungrouped: await driverWriter(dirs.ungrouped!, false),
    };
    const seconds: Record<SideName, number> = { raw: 0, driver: 0, ungrouped: 0 };
    const rounds: Record<SideName, number>[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const count = Math.floor(MESSAGES / ROUNDS) + (round < MESSAGES % ROUNDS ? 1 : 0);
      const took: Record<SideName, number> = { raw: 0, driver: 0, ungrouped: 0 };
      for (let k = 0; k < SIDES.length; k++) {
        const name = SIDES[(round + k) % SIDES.length]!;
        writers[name].prepare(count);
        const started = process.hrtime.bigint();
        await writers[name].run(count, concurrency);
        took[name] = elapsed(started);
        seconds[name] += took[name];
      }
      rounds.push(took);
    }
    await Promise.all(SIDES.map((n) => writers[n].close()));
    for (const name of SIDES) {
      const expected = MESSAGES + (name === 'raw' ? 0 : 1); // the driver's warm-up message
      const found = (await readdir(join(dirs[name]!, 'new'))).length;
      if (found !== expected) throw new Error(`${name} stored ${found} of ${expected} messages`);
      await rm(dirs[name]!, { recursive: true });
    }
    const side = (name: SideName): Side => {
      const roundRatios = rounds.map((r) => r.raw / r[name]);
      return {
        msgsPerSec: Math.round(MESSAGES / seconds[name]),
        seconds: Number(seconds[name].toFixed(3)),
        dirSyncs: writers[name].dirSyncs(),
        ratio: Number((seconds.raw / seconds[name]).toFixed(3)),
        roundRatios: roundRatios.map((r) => Number(r.toFixed(3))),
        medianRatio: Number(median(roundRatios).toFixed(3)),
      };
    };
    rows.push({
      concurrency,
      sides: { raw: side('raw'), driver: side('driver'), ungrouped: side('ungrouped') },
    });
  }
} finally {
  await cleanup();
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
console.log(
  `maildir: ${MESSAGES} messages of ${SIZE} bytes per side, ${ROUNDS} rounds, ${cpus().length} CPUs, ` +
    `node ${process.version}, UV_THREADPOOL_SIZE=${THREADPOOL ?? '4 (default)'}`,
);
console.log(
  `${pad('in flight', 9)} ${pad('side', 10)} ${pad('msg/s', 7)} ${pad('vs raw', 7)} ${pad('median', 7)} ${pad('dir fsyncs', 11)}`,
);
for (const r of rows) {
  for (const name of SIDES) {
    const x = r.sides[name];
    console.log(
      `${pad(r.concurrency, 9)} ${pad(name, 10)} ${pad(x.msgsPerSec, 7)} ${pad(pct(x.ratio), 7)} ${pad(pct(x.medianRatio), 7)} ${pad(x.dirSyncs, 11)}`,
    );
  }
}
console.log(
  'raw: node:fs directly; driver: a maildir connection; ungrouped: the same without group commit',
);

const resultsDir = new URL('./results/', import.meta.url);
await mkdir(resultsDir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const file = new URL(`maildir-${stamp}.json`, resultsDir);
await writeFile(
  file,
  `${JSON.stringify(
    {
      benchmark: 'maildir-driver',
      date: new Date().toISOString(),
      messages: MESSAGES,
      size: SIZE,
      rounds: ROUNDS,
      node: process.version,
      cpus: cpus().length,
      threadpool: THREADPOOL ?? null,
      rows,
    },
    null,
    2,
  )}\n`,
);
console.log(`results: ${file.pathname}`);
