import { connect, createServer } from 'node:net';
import type { Worker } from 'node:worker_threads';
import type { Logger, PeerAddress } from '@sterna/core';
import type { LogRecord } from '@sterna/core/engine';
import type { PolicyRuntime } from '@sterna/lua';
import { selfSignedPair } from '@sterna/protocol-testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AcceptedMessage } from '../../src/reception/receiver.js';
import type { EsmtpListener } from '../../src/smtp/listener.js';
import { startEsmtpListenerThread } from '../../src/smtp/listener-thread.js';
import { testListenerParams } from '../support/listener-params.js';
import { eventually, sendMail, testMessage } from '../support/mail.js';
import { startTestRuntime, type TestRuntime } from '../support/runtime.js';

// The listener thread's transport: policy events, spooling and records cross to the main
// thread and back with their meaning intact, and a thread that dies comes back on its port.

const POLICY = `
local kumo = require 'kumo'
kumo.on('smtp_server_rcpt_to', function(rcpt, meta)
  if tostring(rcpt):find('^blocked@') then kumo.reject(550, '5.7.1 not this one') end
end)
kumo.on('smtp_server_message_received', function(msg, meta)
  msg:set_meta('tenant', 'from-lua')
  msg:append_header('X-Policy', 'seen')
end)
`;

const PARAMS = testListenerParams();

interface Seen {
  accepted: { messages: readonly AcceptedMessage[]; peer: PeerAddress | null }[];
  records: LogRecord[];
  logs: string[];
}

let test: TestRuntime | undefined;
let runtime: PolicyRuntime;
let tls: { key: string; cert: string };
beforeAll(async () => {
  test = await startTestRuntime(POLICY, 'sterna-thread-');
  runtime = test.runtime;
  tls = await selfSignedPair();
}, 120_000);
afterAll(() => test?.close());

let listener: EsmtpListener | undefined;
afterEach(async () => {
  await listener?.close();
  listener = undefined;
});

function start(
  acceptError?: Error,
  onThread?: (worker: Worker) => void,
): Promise<{ listener: EsmtpListener; seen: Seen; server: { host: string; port: number } }> {
  const seen: Seen = { accepted: [], records: [], logs: [] };
  const log: Logger = {
    debug: () => {},
    info: (m) => seen.logs.push(`info ${m}`),
    warn: (m) => seen.logs.push(`warn ${m}`),
    error: (m, f) => seen.logs.push(`error ${m} ${JSON.stringify(f ?? {})}`),
  };
  return startEsmtpListenerThread(
    PARAMS,
    {
      policy: runtime,
      receiver: {
        accept: async (messages, peer) => {
          if (acceptError) throw acceptError;
          seen.accepted.push({ messages, peer });
        },
      },
      logs: { write: (record) => seen.records.push(record) },
      nodeId: 'node-1',
      log,
      tls,
    },
    { restartDelayMs: 50, ...(onThread ? { onThread } : {}) },
  ).then((started) => {
    const [, host, port] = /^(.*):(\d+)$/.exec(started.address)!;
    return { listener: started, seen, server: { host: host!, port: Number(port) } };
  });
}

describe('an ESMTP listener in a worker thread', { timeout: 60_000 }, () => {
  it('hands each copy, changed by the policy, to the receiver on the main thread', async () => {
    const started = await start();
    listener = started.listener;
    const reply = await sendMail(
      started.server,
      { from: 'a@example.org', to: ['one@example.com', 'two@example.com'] },
      testMessage('threaded'),
    );
    expect(reply.response).toMatch(/^250 OK ids=[0-9a-f]{32} [0-9a-f]{32}$/);
    expect(started.seen.accepted).toHaveLength(1);
    const [{ messages, peer }] = started.seen.accepted as [Seen['accepted'][number]];
    expect(peer).toEqual({ name: expect.any(String), addr: '127.0.0.1' });
    expect(messages.map((m) => m.recipients)).toEqual([['one@example.com'], ['two@example.com']]);
    const text = Buffer.from(messages[0]!.data).toString();
    expect(text).toMatch(/^X-KumoRef: /);
    expect(text).toContain('Received: from ');
    expect(text).toContain('X-Policy: seen\r\n');
    expect(text).toContain('Subject: threaded\r\n');
    expect(messages[0]!.meta).toMatchObject({ tenant: 'from-lua', reception_protocol: 'ESMTP' });
  });

  it('carries a kumo.reject back as the reply and logs the Rejection record', async () => {
    const started = await start();
    listener = started.listener;
    await expect(
      sendMail(
        started.server,
        { from: 'a@example.org', to: ['blocked@example.com'] },
        testMessage('no'),
      ),
    ).rejects.toMatchObject({
      responseCode: 550,
      response: expect.stringContaining('5.7.1 not this one'),
    });
    expect(started.seen.records).toMatchObject([
      {
        type: 'Rejection',
        recipient: 'blocked@example.com',
        response: { code: 550, content: 'not this one', command: 'RCPT TO:<blocked@example.com>' },
      },
    ]);
  });

  it('answers 451 with the reason when the spool refuses, and acknowledges nothing', async () => {
    const started = await start(new Error('disk full'));
    listener = started.listener;
    await expect(
      sendMail(
        started.server,
        { from: 'a@example.org', to: ['one@example.com'] },
        testMessage('x'),
      ),
    ).rejects.toMatchObject({
      responseCode: 451,
      response: expect.stringContaining('technical difficulties: disk full'),
    });
    expect(started.seen.logs.some((l) => l.includes('could not spool a received message'))).toBe(
      true,
    );
  });

  it('starts a thread that died again on the same port', async () => {
    const threads: Worker[] = [];
    const started = await start(undefined, (w) => threads.push(w));
    listener = started.listener;
    expect(threads).toHaveLength(1);
    await threads[0]!.terminate();
    await eventually(async () =>
      started.seen.logs.some((l) => l.includes('started again')) ? true : undefined,
    );
    expect(threads).toHaveLength(2);
    const reply = await sendMail(
      started.server,
      { from: 'a@example.org', to: ['one@example.com'] },
      testMessage('again'),
    );
    expect(reply.response).toMatch(/^250 OK ids=/);
    expect(
      started.seen.logs.some((l) => /stopped \(exit code \d+\); starting it again/.test(l)),
    ).toBe(true);
  });

  it('keeps trying while its port is taken, and comes back once it is free', async () => {
    const threads: Worker[] = [];
    const started = await start(undefined, (w) => threads.push(w));
    listener = started.listener;
    await threads[0]!.terminate();
    // Someone else takes the port before the restart.
    const squatter = createServer();
    await new Promise<void>((resolve) =>
      squatter.listen(started.server.port, started.server.host, resolve),
    );
    await eventually(async () =>
      started.seen.logs.some((l) => l.includes('could not start')) ? true : undefined,
    );
    await new Promise<void>((resolve) => squatter.close(() => resolve()));
    await eventually(async () =>
      started.seen.logs.some((l) => l.includes('started again')) ? true : undefined,
    );
    const reply = await sendMail(
      started.server,
      { from: 'a@example.org', to: ['one@example.com'] },
      testMessage('back'),
    );
    expect(reply.response).toMatch(/^250 OK ids=/);
  });

  it('stops accepting on close', async () => {
    const started = await start();
    await started.listener.close();
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(started.server.port, started.server.host);
      socket.on('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });
});
