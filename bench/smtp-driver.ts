/**
 * SMTP driver throughput against plain nodemailer `SMTPConnection` doing the same work, measured
 * in the same run against the same loopback sink (smtp-server that accepts and discards).
 *
 *   pnpm bench:smtp                    (20,000 messages of 4 KiB, 1 and 10 connections)
 *   pnpm bench:smtp -- --messages 2000 --connections 1,4,10 --size 1024 --rounds 5
 *
 * Each round measures both clients at each connection count (alternating which goes first);
 * the table shows the median round, since the machine is shared and single runs are noisy.
 * Each client reuses its connections for every message (one session per connection), as the
 * ready queue does. The driver runs through core's `openConnection`/`ManagedConnection`, so the
 * lifecycle wrapper is part of what is measured. The driver itself sends through
 * `SMTPConnection` (the ESM copy; the baseline loads the CJS one, the same code), so the ratio is
 * the cost of what it adds: the transaction log it reads, outcomes, batching. Prints a table and writes
 * bench/results/smtp-<timestamp>.json. Loopback only; every loop is bounded by the count.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { cpus, hostname } from 'node:os';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { egressPath, openConnection } from '../packages/core/src/engine.js';
import {
  createMessage,
  isDeliveryFailure,
  silentLogger,
  systemClock,
} from '../packages/core/src/index.js';
// Relative imports: the workspace root does not depend on its packages; with
// `--conditions=@sterna/source` these are the same modules the driver itself imports.
import { smtpDriver } from '../packages/protocol-smtp/src/index.js';

// nodemailer and smtp-server are dependencies of the package, not of the root: load them from
// there. The root cannot see their types either, so the little used here is declared below.
interface PlainClient {
  connect(done: (error?: Error) => void): void;
  send(
    envelope: { from: string; to: string[]; size: number },
    data: Buffer,
    done: (error: Error | null) => void,
  ): void;
  quit(): void;
}
interface SinkServer {
  server: import('node:net').Server;
  listen(port: number, host: string, done: () => void): void;
  close(done: () => void): void;
}
const requireFromPackage = createRequire(
  new URL('../packages/protocol-smtp/package.json', import.meta.url),
);
const SMTPConnection = requireFromPackage('nodemailer/lib/smtp-connection') as new (options: {
  host: string;
  port: number;
  name: string;
  ignoreTLS: boolean;
}) => PlainClient;
const { SMTPServer } = requireFromPackage('smtp-server') as {
  SMTPServer: new (options: Record<string, unknown>) => SinkServer;
};

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    size: { type: 'string', default: '4096' },
    connections: { type: 'string', default: '1,10' },
    rounds: { type: 'string', default: '3' },
  },
});
const MESSAGES = Number(args.messages);
const SIZE = Number(args.size);
const LEVELS = args.connections.split(',').map(Number);
const ROUNDS = Number(args.rounds);
if (!(MESSAGES > 0 && SIZE > 0 && ROUNDS > 0 && LEVELS.every((c) => c > 0))) {
  throw new Error('--messages, --size, --rounds and --connections must be positive numbers');
}

function payload(size: number): Buffer {
  const head = 'Received: from bench (127.0.0.1) by sterna.test\r\nSubject: bench\r\n\r\n';
  const line = `${'x'.repeat(76)}\r\n`;
  let text = head;
  while (text.length < size) text += line;
  return Buffer.from(`${text.slice(0, size - 2)}\r\n`);
}
const DATA = payload(SIZE);
const SENDER = 'bench@example.org';
const RECIPIENT = 'sink@example.com';

/** A sink that accepts every message and throws it away, TCP_NODELAY on every socket. */
async function startSink(): Promise<{
  port: number;
  received: () => number;
  close(): Promise<void>;
}> {
  let received = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    size: 64 * 1024 * 1024,
    logger: false,
    onData(stream: Readable, _session: unknown, done: () => void) {
      stream.on('end', () => {
        received++;
        done();
      });
      stream.resume();
    },
  });
  server.server.on('connection', (socket: Socket) => socket.setNoDelay(true));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as { port: number }).port;
  return {
    port,
    received: () => received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Splits `total` messages over `connections` loops that each send one message at a time. */
async function spread(
  total: number,
  connections: number,
  loop: (count: number) => Promise<void>,
): Promise<void> {
  const share = (i: number) => Math.floor(total / connections) + (i < total % connections ? 1 : 0);
  await Promise.all(Array.from({ length: connections }, (_, i) => loop(share(i))));
}

async function plainRun(port: number, total: number, connections: number): Promise<void> {
  await spread(total, connections, async (count) => {
    const client = new SMTPConnection({
      host: '127.0.0.1',
      port,
      name: 'sterna.test',
      ignoreTLS: true,
    });
    await new Promise<void>((resolve, reject) =>
      client.connect((error) => (error ? reject(error) : resolve())),
    );
    for (let i = 0; i < count; i++) {
      await new Promise<void>((resolve, reject) =>
        client.send({ from: SENDER, to: [RECIPIENT], size: DATA.length }, DATA, (error) =>
          error ? reject(error) : resolve(),
        ),
      );
    }
    client.quit();
  });
}

async function driverRun(port: number, total: number, connections: number): Promise<void> {
  const ctx = {
    logger: silentLogger,
    clock: systemClock,
    signal: new AbortController().signal,
    hostname: 'sterna.test',
    resolver: {
      resolveMx: () => Promise.reject(new Error('no DNS in the benchmark')),
      resolve4: () => Promise.reject(new Error('no DNS in the benchmark')),
      resolve6: () => Promise.reject(new Error('no DNS in the benchmark')),
    },
  };
  const options = { smtp: { mx_list: [`127.0.0.1:${port}`] } };
  const path = egressPath({ prohibited_hosts: [], max_deliveries_per_connection: total + 1 });
  const resolution = await smtpDriver.site(
    options,
    { queue: 'example.com', domain: 'example.com' },
    ctx,
  );
  if ('failure' in resolution) throw new Error(resolution.failure.response.content);
  const signal = new AbortController().signal;
  await spread(total, connections, async (count) => {
    const connection = await openConnection(smtpDriver, resolution.site, options, ctx, path);
    if (isDeliveryFailure(connection)) throw new Error(connection.response.content);
    for (let i = 0; i < count; i++) {
      const message = createMessage({ sender: SENDER, recipients: [RECIPIENT], data: DATA });
      const outcomes = await connection.send(message, { signal });
      if (outcomes[0]?.kind !== 'delivered') {
        throw new Error(`not delivered: ${JSON.stringify(outcomes[0]?.response)}`);
      }
    }
    await connection.close();
  });
}

interface Row {
  client: 'plain SMTPConnection' | 'smtp driver';
  connections: number;
  messages: number;
  seconds: number;
  perSecond: number;
}

async function measure(
  client: Row['client'],
  connections: number,
  run: (port: number, total: number, connections: number) => Promise<void>,
): Promise<Row> {
  const sink = await startSink();
  try {
    await run(sink.port, Math.min(500, MESSAGES), connections); // warm-up: JIT, TCP, TLS-free path
    const before = sink.received();
    const started = performance.now();
    await run(sink.port, MESSAGES, connections);
    const seconds = (performance.now() - started) / 1000;
    const messages = sink.received() - before;
    if (messages !== MESSAGES)
      throw new Error(`${client}: the sink got ${messages} of ${MESSAGES}`);
    return { client, connections, messages, seconds, perSecond: messages / seconds };
  } finally {
    await sink.close();
  }
}

const samples: Row[] = [];
for (let round = 0; round < ROUNDS; round++) {
  for (const connections of LEVELS) {
    const plain = () => measure('plain SMTPConnection', connections, plainRun);
    const driver = () => measure('smtp driver', connections, driverRun);
    if (round % 2 === 0) samples.push(await plain(), await driver());
    else samples.push(await driver(), await plain());
  }
}

const median = (client: Row['client'], connections: number): Row => {
  const rows = samples
    .filter((r) => r.client === client && r.connections === connections)
    .sort((a, b) => a.perSecond - b.perSecond);
  return rows[Math.floor(rows.length / 2)]!;
};
const rows = LEVELS.flatMap((c) => [median('plain SMTPConnection', c), median('smtp driver', c)]);
const ratios = LEVELS.map((connections) => ({
  connections,
  ratio:
    median('smtp driver', connections).perSecond /
    median('plain SMTPConnection', connections).perSecond,
}));

console.log(
  `\nSMTP delivery, ${MESSAGES} messages of ${SIZE} bytes to a loopback smtp-server sink, median of ${ROUNDS} rounds (${cpus().length} cores, node ${process.version})\n`,
);
console.log('client                 conns   msgs/s   seconds');
for (const r of rows) {
  console.log(
    `${r.client.padEnd(22)} ${String(r.connections).padStart(5)} ${r.perSecond.toFixed(0).padStart(8)} ${r.seconds.toFixed(2).padStart(9)}`,
  );
}
for (const { connections, ratio } of ratios) {
  console.log(`driver / plain at ${connections} connection(s): ${(ratio * 100).toFixed(1)} %`);
}

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const out = new URL(`./results/smtp-${stamp}.json`, import.meta.url);
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(
  out,
  `${JSON.stringify({ benchmark: 'smtp-driver', host: hostname(), cores: cpus().length, node: process.version, messages: MESSAGES, size: SIZE, rounds: ROUNDS, rows, ratios, samples }, null, 2)}\n`,
);
console.log(`\nwrote ${out.pathname}`);
