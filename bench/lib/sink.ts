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

export async function startSink(): Promise<Sink> {
  if (hasPostfixTools()) {
    const port = await freePort();
    const child = spawn(
      'smtp-sink',
      ['-c', '-u', 'nobody', '-m', '1024', `127.0.0.1:${port}`, '1024'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let count = 0;
    // -c prints a running count (carriage-return separated).
    child.stdout!.on('data', (chunk: Buffer) => {
      const numbers = chunk.toString().match(/\d+/g);
      if (numbers) count = Number(numbers[numbers.length - 1]);
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
