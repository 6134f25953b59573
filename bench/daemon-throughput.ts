// End-to-end throughput of the real daemon: N messages of SIZE bytes injected over SMTP by CONC
// clients that reuse their connections, delivered (a) by SMTP relay to a sink on loopback and
// (b) through custom_lua whose send returns 'OK'. Same machine, same run; loopback only; every
// loop bounded in count and time.
//
//   npx tsx --conditions=@sterna/source bench/daemon-throughput.ts [--n 20000] [--size 4096] [--conc 20]
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import { SMTPServer } from 'smtp-server';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '20000' },
    size: { type: 'string', default: '4096' },
    conc: { type: 'string', default: '20' },
    timeout: { type: 'string', default: '300' },
    only: { type: 'string' },
  },
});
const N = Number(values.n);
const SIZE = Number(values.size);
const CONC = Number(values.conc);
const TIMEOUT_MS = Number(values.timeout) * 1000;
const root = fileURLToPath(new URL('..', import.meta.url));

async function startSink(): Promise<{ port: number; count: () => number; close(): Promise<void> }> {
  let count = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    earlyTalkerDelay: 0,
    onData(stream, _session, done) {
      stream.on('data', () => {});
      stream.on('end', () => {
        count++;
        done();
      });
    },
  });
  server.server.on('connection', (s: Socket) => s.setNoDelay(true));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.server.address() as AddressInfo).port,
    count: () => count,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

function policy(dir: string, protocol: string): string {
  return `
local kumo = require 'kumo'
kumo.on('init', function()
  kumo.start_esmtp_listener { listen = '127.0.0.1:0', max_messages_per_connection = 1000000 }
  kumo.start_http_listener { listen = '127.0.0.1:0' }
  kumo.define_spool { name = 'data', path = '${dir}/spool/data' }
  kumo.define_spool { name = 'meta', path = '${dir}/spool/meta' }
  kumo.configure_local_logs { log_dir = '${dir}/logs' }
end)
kumo.on('get_egress_path_config', function()
  return kumo.make_egress_path { prohibited_hosts = {}, enable_tls = 'Disabled' }
end)
kumo.on('get_queue_config', function()
  return kumo.make_queue_config { protocol = ${protocol} }
end)
kumo.on('make.ok', function()
  local connection = {}
  function connection:send(message) return 'OK' end
  return connection
end)
`;
}

async function startDaemon(
  policyFile: string,
): Promise<{ child: ChildProcess; smtpPort: number; http: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@sterna/source', 'src/cli/main.ts', '--policy', policyFile],
    {
      cwd: join(root, 'apps/mta'),
      env: { ...process.env, STERNA_LOG: 'error' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const deadline = Date.now() + 120_000;
  while (!err.includes('initialization complete')) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`daemon did not start:\n${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    smtpPort: Number(/smtp listener on [^:]+:(\d+)/.exec(err)![1]),
    http: `http://${/http listener on (\S+)/.exec(err)![1]}`,
  };
}

function message(i: number): string {
  const header = `From: bench@example.org\r\nTo: user${i}@bench.example\r\nSubject: bench ${i}\r\nMessage-ID: <${i}@bench>\r\n\r\n`;
  const line = `${'x'.repeat(76)}\r\n`;
  return header + line.repeat(Math.max(1, Math.ceil((SIZE - header.length) / line.length)));
}

// CONC clients, each on one reused connection, take messages from a shared counter.
async function inject(
  port: number,
  count: number,
): Promise<{ seconds: number; latencies: number[] }> {
  let next = 0;
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONC }, async () => {
      const c = new SMTPConnection({
        host: '127.0.0.1',
        port,
        ignoreTLS: true,
        socketTimeout: 60_000,
      });
      c.on('error', () => {});
      await new Promise<void>((resolve, reject) =>
        c.connect((e?: Error) => (e ? reject(e) : resolve())),
      );
      while (next < count && performance.now() - started < TIMEOUT_MS) {
        const i = next++;
        const t = performance.now();
        await new Promise<void>((resolve, reject) =>
          c.send({ from: 'bench@example.org', to: [`user${i}@bench.example`] }, message(i), (e) =>
            e ? reject(e) : resolve(),
          ),
        );
        latencies.push(performance.now() - t);
      }
      c.quit();
    }),
  );
  return { seconds: (performance.now() - started) / 1000, latencies };
}

async function delivered(http: string): Promise<number> {
  const text = await fetch(`${http}/metrics`).then((r) => r.text());
  const m = /^total_messages_delivered(?:\{[^}]*\})? (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;

async function scenario(
  name: string,
  protocol: string,
  sink: Awaited<ReturnType<typeof startSink>>,
) {
  const dir = await mkdtemp(join(tmpdir(), `sterna-bench-${name}-`));
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'init.lua');
  await writeFile(file, policy(dir, protocol));
  const daemon = await startDaemon(file);
  try {
    const isDone =
      name === 'relay'
        ? async (n: number) => sink.count() - base >= n
        : async (n: number) => (await delivered(daemon.http)) >= n;
    let base = sink.count();
    await inject(daemon.smtpPort, 500); // warm-up
    for (const t0 = Date.now(); !(await isDone(500)) && Date.now() - t0 < 60_000; )
      await new Promise((r) => setTimeout(r, 50));
    base = sink.count();
    const warm = name === 'relay' ? 0 : await delivered(daemon.http);
    process.stderr.write(`${name}: injecting ${N} × ${SIZE} B over ${CONC} connections…\n`);
    const started = performance.now();
    const injected = await inject(daemon.smtpPort, N);
    let last = 0;
    while (performance.now() - started < TIMEOUT_MS) {
      const done = name === 'relay' ? sink.count() - base : (await delivered(daemon.http)) - warm;
      if (done !== last) process.stderr.write(`\r${name}: ${done}/${N} delivered`);
      last = done;
      if (done >= N) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (performance.now() - started) / 1000;
    process.stderr.write('\n');
    return {
      name,
      messages: N,
      delivered: last,
      injectRate: Math.round(N / injected.seconds),
      endToEndRate: Math.round(last / seconds),
      dataAckP50ms: Math.round(pct(injected.latencies, 0.5) * 10) / 10,
      dataAckP99ms: Math.round(pct(injected.latencies, 0.99) * 10) / 10,
    };
  } finally {
    daemon.child.kill('SIGTERM');
    await new Promise((r) => daemon.child.once('exit', r));
    await rm(dir, { recursive: true, force: true });
  }
}

const sink = await startSink();
const results = [];
try {
  if (!values.only || values.only === 'relay') {
    results.push(
      await scenario('relay', `{ smtp = { mx_list = { '127.0.0.1:${sink.port}' } } }`, sink),
    );
  }
  if (!values.only || values.only === 'lua') {
    results.push(await scenario('lua', `{ custom_lua = { constructor = 'make.ok' } }`, sink));
  }
} finally {
  await sink.close();
}
console.log('\nscenario | messages | injected msg/s | end-to-end msg/s | DATA ack p50 | p99');
console.log('---|---|---|---|---|---');
for (const r of results)
  console.log(
    `${r.name} | ${r.delivered}/${r.messages} | ${r.injectRate} | ${r.endToEndRate} | ${r.dataAckP50ms} ms | ${r.dataAckP99ms} ms`,
  );
const out = join(
  root,
  'bench/results',
  `daemon-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
);
await mkdir(join(root, 'bench/results'), { recursive: true });
await writeFile(out, JSON.stringify({ n: N, size: SIZE, conc: CONC, results }, null, 2));
console.log(`\nresults: ${out}`);
