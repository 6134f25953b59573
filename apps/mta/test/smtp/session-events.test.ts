import { connect } from 'node:net';
import type { Logger } from '@sterna/core';
import type { LogRecord } from '@sterna/core/engine';
import type { PolicyRuntime } from '@sterna/lua';
import { selfSignedPair } from '@sterna/protocol-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AcceptedMessage } from '../../src/reception/receiver.js';
import { type EsmtpListener, startEsmtpListener } from '../../src/smtp/listener.js';
import { startEsmtpListenerThread } from '../../src/smtp/listener-thread.js';
import type { EsmtpListenerParams } from '../../src/smtp/params.js';
import { testListenerParams } from '../support/listener-params.js';
import { startTestRuntime, type TestRuntime } from '../support/runtime.js';

// KumoMTA's connection-level events on the ESMTP listener — smtp_server_connection_accepted,
// smtp_server_ehlo, smtp_server_data — and conn_meta:set_meta lasting for the connection, on a
// listener in its own thread (the daemon's default) and on the main thread.

const POLICY = `
local kumo = require 'kumo'
kumo.on('smtp_server_connection_accepted', function(conn_meta)
  if conn_meta:get_meta 'deny' then
    kumo.reject(421, '4.7.0 service not accepted from ' .. conn_meta:get_meta 'received_from')
  end
  conn_meta:set_meta('accepted', 'at connect')
end)
kumo.on('smtp_server_ehlo', function(domain, conn_meta, extensions)
  if domain == 'bad.actor' then kumo.reject(550, '5.7.1 go away ' .. domain) end
  conn_meta:set_meta('ehlo_seen', domain .. ' after ' .. tostring(conn_meta:get_meta 'accepted'))
  if domain == 'custom.example' then
    local out = {}
    for _, e in ipairs(extensions) do
      if e ~= 'PIPELINING' then out[#out + 1] = e end
    end
    out[#out + 1] = 'X-SOMETHING'
    return out
  end
end)
kumo.on('smtp_server_mail_from', function(sender, conn_meta)
  conn_meta:set_meta('mail_from_tag', sender.domain)
end)
kumo.on('smtp_server_data', function(msg, conn_meta)
  local calls = (conn_meta:get_meta 'data_calls' or 0) + 1
  conn_meta:set_meta('data_calls', calls)
  msg:set_meta('data_recipients', #msg:recipient_list())
  msg:set_meta('data_saw_received', msg:get_first_named_header_value 'received' ~= nil)
  msg:append_header('X-Data-Stage', 'seen')
  if msg:get_first_named_header_value 'subject' == 'refuse at data' then
    kumo.reject(554, '5.7.0 refused at data')
  end
end)
kumo.on('smtp_server_message_received', function(msg, conn_meta)
  msg:set_meta('tag_in_event', conn_meta:get_meta 'mail_from_tag')
end)
`;

function params(meta: Record<string, unknown> = {}): EsmtpListenerParams {
  const base = testListenerParams();
  return { ...base, trace_headers: { ...base.trace_headers, supplemental_header: false }, meta };
}

let test: TestRuntime | undefined;
let runtime: PolicyRuntime;
let tls: { key: string; cert: string };
beforeAll(async () => {
  test = await startTestRuntime(POLICY, 'sterna-session-events-');
  runtime = test.runtime;
  tls = await selfSignedPair();
}, 120_000);
afterAll(() => test?.close());

interface Running {
  listener: EsmtpListener;
  port: number;
  accepted: AcceptedMessage[];
  records: LogRecord[];
}

const silent: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

async function start(threaded: boolean, meta?: Record<string, unknown>): Promise<Running> {
  const accepted: AcceptedMessage[] = [];
  const records: LogRecord[] = [];
  const deps = {
    policy: runtime,
    receiver: {
      accept: async (messages: readonly AcceptedMessage[]) => void accepted.push(...messages),
    },
    logs: { write: (record: LogRecord) => void records.push(record) },
    nodeId: 'node-1',
    log: silent,
    tls,
  };
  const listener = threaded
    ? await startEsmtpListenerThread(params(meta), deps)
    : await startEsmtpListener(params(meta), deps);
  return { listener, port: Number(/:(\d+)$/.exec(listener.address)![1]), accepted, records };
}

/**
 * A raw session: sends each command after the previous reply (the first after the greeting) and
 * resolves with every reply, each as its lines, once the server closes or the commands run out.
 */
function session(port: number, commands: string[]): Promise<string[][]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const replies: string[][] = [];
    let buffer = '';
    let lines: string[] = [];
    let sent = 0;
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        lines.push(line);
        // A reply ends at a line whose fourth character is a space.
        if (!/^\d{3} /.test(line)) continue;
        replies.push(lines);
        lines = [];
        if (sent < commands.length) socket.write(commands[sent++]!);
        else socket.end();
      }
    });
    socket.once('close', () => resolve(replies));
    socket.once('error', reject);
    setTimeout(() => socket.destroy(), 15_000).unref();
  });
}

const message = (subject: string) =>
  `From: a@example.org\r\nTo: b@example.com\r\nSubject: ${subject}\r\n\r\nbody\r\n.\r\n`;

describe.each([
  ['in its own thread', true],
  ['on the main thread', false],
])('the ESMTP listener %s', (_, threaded) => {
  let running: Running;
  let denying: Running;
  beforeAll(async () => {
    running = await start(threaded);
    denying = await start(threaded, { deny: true });
  }, 60_000);
  afterAll(async () => {
    await running?.listener.close();
    await denying?.listener.close();
  });

  it('fires smtp_server_connection_accepted before the banner: kumo.reject is the reply, then it disconnects', async () => {
    const replies = await session(denying.port, []);
    expect(replies).toEqual([
      [expect.stringMatching(/^421 4\.7\.0 service not accepted from 127\.0\.0\.1:\d+$/)],
    ]);
    expect(denying.records).toMatchObject([
      { type: 'Rejection', response: { code: 421, command: null } },
    ]);
  });

  it('fires smtp_server_ehlo with the domain and the extensions; a returned list replaces them, kumo.reject refuses', async () => {
    const replies = await session(running.port, [
      'EHLO bad.actor\r\n',
      'EHLO plain.example\r\n',
      'EHLO custom.example\r\n',
      'QUIT\r\n',
    ]);
    expect(replies[0]?.[0]).toBe('220 sterna.test KumoMTA');
    expect(replies[1]).toEqual(['550 5.7.1 go away bad.actor']);
    const plain = replies[2]!.map((l) => l.slice(4));
    expect(plain).toContain('PIPELINING');
    expect(plain).toContain('STARTTLS');
    expect(plain).not.toContain('X-SOMETHING');
    const custom = replies[3]!.map((l) => l.slice(4));
    expect(custom[0]).toMatch(/^sterna\.test /);
    expect(custom.slice(1)).toEqual([
      ...plain.slice(1).filter((e) => e !== 'PIPELINING'),
      'X-SOMETHING',
    ]);
    expect(replies[4]?.[0]).toMatch(/^221 /);
  });

  it('fires smtp_server_data once per transaction with every recipient, before the split and the trace headers', async () => {
    const before = running.accepted.length;
    const replies = await session(running.port, [
      'EHLO client.example\r\n',
      'MAIL FROM:<a@example.org>\r\n',
      'RCPT TO:<one@example.com>\r\n',
      'RCPT TO:<two@example.com>\r\n',
      'DATA\r\n',
      message('first'),
      'MAIL FROM:<a@example.net>\r\n',
      'RCPT TO:<three@example.com>\r\n',
      'DATA\r\n',
      message('second'),
      'QUIT\r\n',
    ]);
    expect(replies[6]?.[0]).toMatch(/^250 OK ids=\S+ \S+$/);
    expect(replies[10]?.[0]).toMatch(/^250 OK ids=\S+$/);
    const copies = running.accepted.slice(before);
    expect(copies.map((m) => m.recipients)).toEqual([
      ['one@example.com'],
      ['two@example.com'],
      ['three@example.com'],
    ]);
    // Both copies of the first transaction come from one smtp_server_data call that saw both
    // recipients and no Received header yet; the second transaction is the connection's second.
    expect(
      copies.map((m) => [m.meta.data_calls, m.meta.data_recipients, m.meta.data_saw_received]),
    ).toEqual([
      [1, 2, false],
      [1, 2, false],
      [2, 1, false],
    ]);
    for (const copy of copies) {
      const text = Buffer.from(copy.data).toString();
      expect(text).toMatch(/^Received: from client\.example/);
      expect(text).toContain('X-Data-Stage: seen\r\n');
    }
  });

  it('keeps conn_meta:set_meta for the connection: later events see it, and it is in each message meta', async () => {
    const before = running.accepted.length;
    await session(running.port, [
      'EHLO client.example\r\n',
      'MAIL FROM:<a@tagged.example>\r\n',
      'RCPT TO:<one@example.com>\r\n',
      'DATA\r\n',
      message('meta'),
      'QUIT\r\n',
    ]);
    const [copy] = running.accepted.slice(before);
    expect(copy?.meta).toMatchObject({
      // set in smtp_server_connection_accepted, seen by smtp_server_ehlo
      accepted: 'at connect',
      ehlo_seen: 'client.example after at connect',
      // set in smtp_server_mail_from: read in smtp_server_message_received, and copied in
      mail_from_tag: 'tagged.example',
      tag_in_event: 'tagged.example',
      received_from: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
    });
  });

  it('answers smtp_server_data’s kumo.reject for the whole transaction, nothing spooled', async () => {
    const before = running.accepted.length;
    const replies = await session(running.port, [
      'EHLO client.example\r\n',
      'MAIL FROM:<a@example.org>\r\n',
      'RCPT TO:<one@example.com>\r\n',
      'DATA\r\n',
      message('refuse at data'),
      'QUIT\r\n',
    ]);
    expect(replies[5]).toEqual(['554 5.7.0 refused at data']);
    expect(running.accepted.length).toBe(before);
  });
});
