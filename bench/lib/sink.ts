// The sink relayed mail goes to: Postfix's smtp-sink (C, cheap) when installed, else an
// smtp-server that accepts and discards. Either way it only counts.
import { spawn } from 'node:child_process';
import type { AddressInfo, Socket } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { installGreetingDelay } from '../../apps/mta/src/smtp/greeting.js';
import { hasPostfixTools } from './postfix.js';

export interface Sink {
  readonly port: number;
  readonly kind: 'smtp-sink' | 'node';
  count(): number;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const probe = new SMTPServer({ logger: false });
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.server.address() as AddressInfo;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

/**
 * Starts the sink on a free loopback port. `sessions` is smtp-sink's `-m` (concurrent sessions
 * it serves); the Node sink takes any number.
 */
export async function startSink(options: { readonly sessions?: number } = {}): Promise<Sink> {
  if (hasPostfixTools()) {
    const port = await freePort();
    const sessions = options.sessions ?? 1024;
    // The last argument is the listen backlog: a wider sink gets a longer one.
    const backlog = sessions > 1024 ? 4096 : 1024;
    const child = spawn(
      'smtp-sink',
      ['-c', '-u', 'nobody', '-m', String(sessions), `127.0.0.1:${port}`, String(backlog)],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let count = 0;
    let partial = '';
    // -c prints `sess=N quit=N mesg=N` records, carriage-return separated. A chunk can end inside
    // one, so only whole records are read, and only their mesg field: the last number of a chunk
    // may be a session count.
    child.stdout!.on('data', (chunk: Buffer) => {
      const records = (partial + chunk.toString()).split('\r');
      partial = records.pop()!;
      for (const record of records) {
        const mesg = /mesg=(\d+)/.exec(record);
        if (mesg) count = Number(mesg[1]);
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    return {
      port,
      kind: 'smtp-sink',
      count: () => count,
      close: async () => void child.kill('SIGTERM'),
    };
  }
  let count = 0;
  installGreetingDelay();
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
    kind: 'node',
    count: () => count,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
