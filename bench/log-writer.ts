/**
 * Local log writer cost: what `write()` costs its caller per record, and end-to-end records/s
 * until everything is compressed on disk, against the floor of `JSON.stringify` alone.
 *
 *   npx tsx --conditions=@sterna/source bench/log-writer.ts
 *   npx tsx --conditions=@sterna/source bench/log-writer.ts --records 50000 --rounds 3
 *
 * Everything is written under a fresh directory in os.tmpdir() and removed at the end.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
// Relative import: the workspace root does not depend on apps/mta; dependencies resolve from
// apps/mta/node_modules because the imported files live there.
import {
  LocalLogWriter,
  listSegments,
  parseLocalLogsConfig,
  readLogRecords,
} from '../apps/mta/src/logs/index.js';
import {
  buildLogRecord,
  type LogRecord,
  newSpoolId,
  parseHeaders,
} from '../packages/core/src/engine.js';
import { makeResponse } from '../packages/core/src/index.js';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '3' },
  },
});
const total = Number(args.records);
const rounds = Number(args.rounds);

const headers = parseHeaders(
  Buffer.from(
    'Received: from client.example (127.0.0.1) by sterna.test\r\n' +
      'From: Sender <sender@example.com>\r\nTo: rcpt@example.net\r\n' +
      'Subject: Your monthly statement is ready\r\nDate: Sat, 28 Nov 2026 02:00:00 +0000\r\n' +
      'Message-ID: <abc123@example.com>\r\nX-Campaign: spring-2026\r\nX-Tenant: acme\r\n' +
      'MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nbody\r\n',
  ),
);
const meta = { tenant: 'acme', campaign: 'spring-2026', queue: 'example.net', other: 'x' };

// A pool of distinct records so the benchmark measures the writer, not record building.
const pool: LogRecord[] = Array.from({ length: 1000 }, (_, i) =>
  buildLogRecord({
    type: i % 10 === 0 ? 'TransientFailure' : 'Delivery',
    id: newSpoolId(),
    sender: 'sender@example.com',
    recipient: `rcpt${i}@example.net`,
    queue: 'spring-2026:acme@example.net',
    site: 'unspecified->(alt1|alt2)?.mx.example.net@smtp_client',
    size: 4096 + i,
    response: makeResponse(250, `2.0.0 OK ${i} queued as ABC${i}`, { command: '.\r\n' }),
    peer_address: { name: 'mx.example.net', addr: '192.0.2.10' },
    num_attempts: 1,
    egress_pool: 'pool-a',
    egress_source: 'ip-1',
    delivery_protocol: 'ESMTP',
    reception_protocol: 'ESMTP',
    nodeid: '1b2c3d4e-0000-4000-8000-000000000000',
  }),
);
const context = { meta, headers };

function baseline(): number {
  const start = process.hrtime.bigint();
  let bytes = 0;
  for (let i = 0; i < total; i++) {
    const r = pool[i % pool.length]!;
    bytes += JSON.stringify({ ...r, meta: { tenant: meta.tenant } }).length;
  }
  if (bytes === 0) throw new Error('unreachable');
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function round(): Promise<{
  writeMs: number;
  totalMs: number;
  raw: number;
  compressed: number;
  segments: number;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'sterna-bench-logs-'));
  try {
    const config = parseLocalLogsConfig({
      log_dir: dir,
      meta: ['tenant', 'campaign'],
      headers: ['Subject', 'X-*'],
      max_file_size: 50_000_000,
    });
    const writer = await LocalLogWriter.open(config);
    let writeNs = 0n;
    const start = process.hrtime.bigint();
    for (let i = 0; i < total; i++) {
      const t = process.hrtime.bigint();
      const wait = writer.write(pool[i % pool.length]!, context);
      writeNs += process.hrtime.bigint() - t;
      if (wait) await wait;
      // Yield now and then, as a busy daemon does between events, so timers can run.
      if (i % 500 === 499) await new Promise((r) => setImmediate(r));
    }
    await writer.close();
    const totalMs = Number(process.hrtime.bigint() - start) / 1e6;
    const segments = await listSegments(dir);
    let compressed = 0;
    for (const s of segments) compressed += (await stat(s)).size;
    const back = await readLogRecords(dir);
    if (back.length !== total) throw new Error(`read back ${back.length} of ${total}`);
    const raw = back.reduce((n, r) => n + Buffer.byteLength(JSON.stringify(r)) + 1, 0);
    return { writeMs: Number(writeNs) / 1e6, totalMs, raw, compressed, segments: segments.length };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(
  `log writer: ${total} records × ${rounds} rounds, node ${process.version}, ${cpus().length} cpus`,
);
const floor = baseline();
console.log(
  `JSON.stringify floor: ${((floor * 1000) / total).toFixed(2)} µs/record (${Math.round(total / (floor / 1000))}/s)`,
);
for (let r = 0; r < rounds; r++) {
  const res = await round();
  console.log(
    `round ${r + 1}: write() ${((res.writeMs * 1000) / total).toFixed(2)} µs/record in the caller; ` +
      `end-to-end ${Math.round(total / (res.totalMs / 1000))} records/s on disk; ` +
      `${(res.raw / 1e6).toFixed(1)} MB JSON → ${(res.compressed / 1e6).toFixed(2)} MB zstd ` +
      `(${(res.raw / res.compressed).toFixed(1)}×), ${res.segments} segment(s)`,
  );
}
