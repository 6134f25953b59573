import type { AddressInfo, Socket } from 'node:net';
import { connect } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { installGreetingDelay, installKumoReplies } from './greeting.js';

// smtp-server waits 100 ms (a setTimeout) before each greeting. With setTimeout faked, a
// server with earlyTalkerDelay 0 greets anyway; one without the option greets only once the
// fake clock has moved 100 ms.

const servers: SMTPServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(() => r(null)))));
});

async function start(options: SMTPServerOptions): Promise<number> {
  installGreetingDelay();
  installKumoReplies();
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    disableReverseLookup: true,
    ...options,
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.server.address() as AddressInfo).port;
}

function firstReply(port: number): { socket: Socket; reply: Promise<string> } {
  const socket = connect(port, '127.0.0.1');
  const reply = new Promise<string>((resolve, reject) => {
    socket.once('data', (chunk) => resolve(chunk.toString()));
    socket.once('error', reject);
  });
  return { socket, reply };
}

// Lets I/O run for a while without touching the faked setTimeout.
const ioTurns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('installGreetingDelay', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('greets without any timer when earlyTalkerDelay is 0', async () => {
    const port = await start({ earlyTalkerDelay: 0, name: 'now.test' });
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    const { socket, reply } = firstReply(port);
    expect(await reply).toMatch(/^220 now\.test /);
    socket.destroy();
  });

  it('leaves servers without the option to smtp-server and its 100 ms wait', async () => {
    const port = await start({ name: 'waits.test' });
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    const { socket, reply } = firstReply(port);
    let greeted = false;
    void reply.then(() => {
      greeted = true;
    });
    await ioTurns(50);
    expect(greeted).toBe(false);
    vi.advanceTimersByTime(100);
    expect(await reply).toMatch(/^220 waits\.test /);
    socket.destroy();
  });

  it('keeps the connection limit', async () => {
    const port = await start({ earlyTalkerDelay: 0, name: 'full.test', maxClients: 1 });
    const first = firstReply(port);
    await first.reply;
    const second = firstReply(port);
    try {
      expect(await second.reply).toMatch(/^421 full\.test Too many connected clients/);
    } finally {
      first.socket.destroy();
      second.socket.destroy();
    }
  });
});

/** Sends each line after the previous reply; resolves with every reply. */
function converse(port: number, lines: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const replies: string[] = [];
    const socket = connect(port, '127.0.0.1');
    socket.on('data', (chunk) => {
      replies.push(chunk.toString().trim());
      const next = lines.shift();
      if (next === undefined) socket.end();
      else socket.write(`${next}\r\n`);
    });
    socket.on('close', () => resolve(replies));
    socket.on('error', reject);
  });
}

describe('installKumoReplies', () => {
  it('greets as KumoMTA does and answers an unknown command with 502 5.5.1', async () => {
    const port = await start({
      earlyTalkerDelay: 0,
      kumoReplies: true,
      name: 'mx.test',
      banner: 'KumoMTA',
    });
    const [greeting, unknown, quit] = await converse(port, ['FROB now', 'QUIT']);
    expect(greeting).toBe('220 mx.test KumoMTA');
    expect(unknown).toBe('502 5.5.1 Command unimplemented');
    expect(quit).toMatch(/^221 /);
  });

  it('leaves servers without the option as smtp-server makes them', async () => {
    const port = await start({ earlyTalkerDelay: 0, name: 'plain.test', banner: 'Hi' });
    const [greeting, unknown] = await converse(port, ['FROB now', 'QUIT']);
    expect(greeting).toBe('220 plain.test ESMTP Hi');
    expect(unknown).toMatch(/^500 /);
  });
});
