import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { NatsConnectParams } from '@sterna/lua';
import { freePort, type NatsService, startNats } from '@sterna/protocol-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsOptions } from '../../src/cluster/brokers/nats.js';
import { eventually } from '../support/mail.js';
import { type ChunkRuntime, startChunkRuntime } from '../support/policy-chunks.js';

// kumo.nats from a real policy runtime, answered by the daemon's PolicyServices, against a real
// nats-server with JetStream. The policy runs the Lua chunks the tests give it, so each test
// reads as the policy code it exercises.

describe('kumo.nats against a real nats-server', { timeout: 120_000 }, () => {
  let nats: NatsService;
  let nc: NatsConnection;
  let chunks: ChunkRuntime;

  const run = (code: string, ...args: unknown[]) => chunks.run(code, ...args);
  const stored = async (stream: string) =>
    (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;
  // Messages the stream holds on one subject.
  const storedOn = async (stream: string, subject: string) =>
    (await (await jetstreamManager(nc)).streams.info(stream, { subjects_filter: subject })).state
      .subjects?.[subject] ?? 0;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.server, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'EVENTS', subjects: ['events.>'] });
    chunks = await startChunkRuntime({ contexts: 1, deadlineMs: 60_000 });
  });
  afterAll(async () => {
    await chunks?.close();
    await nc?.close();
    await nats?.close();
  });

  it('publishes through JetStream and returns once the stream stored the message', async () => {
    await run(
      `local server = ...
       CLIENTS.main = kumo.nats.connect { servers = { server }, name = 'sterna-test' }
       CLIENTS.main:publish { subject = 'events.one', payload = 'hello', await_ack = true }`,
      nats.server,
    );
    // Returned only after the ack: the message is in the stream now, no waiting needed.
    expect(await stored('EVENTS')).toBe(1);
    const jsm = await jetstreamManager(nc);
    const message = await jsm.streams.getMessage('EVENTS', { last_by_subj: 'events.one' });
    expect(message?.string()).toBe('hello');
  });

  it('passes headers on; a repeated Nats-Msg-Id is dropped by the stream, and the publish still succeeds', async () => {
    const before = await stored('EVENTS');
    await run(`
      for _ = 1, 3 do
        CLIENTS.main:publish {
          subject = 'events.dup', payload = 'once',
          headers = { ['Nats-Msg-Id'] = 'record-1:Delivery', ['X-Several'] = { 'a', 'b' } },
          await_ack = true,
        }
      end`);
    expect(await stored('EVENTS')).toBe(before + 1);
    const jsm = await jetstreamManager(nc);
    const message = await jsm.streams.getMessage('EVENTS', { last_by_subj: 'events.dup' });
    expect(message?.header.values('X-Several')).toEqual(['a', 'b']);
  });

  it('without await_ack, a core publish reaches a subscriber', async () => {
    const sub = nc.subscribe('plain.subject', { max: 1 });
    await nc.flush();
    await run(`CLIENTS.main:publish { subject = 'plain.subject', payload = 'core' }`);
    for await (const message of sub) expect(message.string()).toBe('core');
  });

  it('with await_ack and no stream for the subject, the publish raises saying so', async () => {
    await expect(
      run(`CLIENTS.main:publish { subject = 'nowhere.x', payload = 'p', await_ack = true }`),
    ).rejects.toThrow(
      "nats client:publish: no JetStream stream takes subject 'nowhere.x' (nothing answered the publish)",
    );
  });

  it('refuses bad parameters, naming them, before anything is asked of the server', async () => {
    await expect(run('kumo.nats.connect {}')).rejects.toThrow(/kumo\.nats\.connect: .*servers/);
    await expect(run(`kumo.nats.connect { servers = { 'x:1' }, bogus = 1 }`)).rejects.toThrow(
      /kumo\.nats\.connect: .*bogus/,
    );
    await expect(
      run(`kumo.nats.connect { servers = { 'x:1' }, request_timeout = 'soon' }`),
    ).rejects.toThrow(/kumo\.nats\.connect: .*request_timeout/);
    await expect(run(`CLIENTS.main:publish { payload = 'p' }`)).rejects.toThrow(
      /nats client:publish: .*subject/,
    );
    await expect(
      run(`CLIENTS.main:publish { subject = 's', payload = 'p', await = true }`),
    ).rejects.toThrow(/nats client:publish: .*await/);
    await expect(run(`CLIENTS.main.publish { subject = 's', payload = 'p' }`)).rejects.toThrow(
      'nats client:publish: call it as client:publish{…}, with a colon',
    );
  });

  it('a server that cannot be reached fails the connect, naming it', async () => {
    const port = await freePort();
    await expect(run(`kumo.nats.connect { servers = { '127.0.0.1:${port}' } }`)).rejects.toThrow(
      `kumo.nats.connect: cannot connect to 127.0.0.1:${port}:`,
    );
  });

  it('while the server is down a publish fails within request_timeout; after it returns, publishes succeed', async () => {
    await run(
      `CLIENTS.short = kumo.nats.connect { servers = { ... }, request_timeout = 1 }`,
      nats.server,
    );
    const before = await stored('EVENTS');
    await nats.stop();
    try {
      // Connecting in the background: a client comes back although no server answers.
      await run(
        `CLIENTS.later = kumo.nats.connect { servers = { ... }, request_timeout = 1, retry_on_initial_connect = true }`,
        nats.server,
      );
      // Once the client has seen the socket close, a publish waits for the connection and
      // fails within request_timeout, saying so. (One made in the moment before that goes out,
      // gets no answer and fails within the same time with another text: asked again.)
      const failureOf = (chunk: string) =>
        run(chunk).then(
          () => 'it did not raise',
          (error: unknown) => String(error),
        );
      for (const name of ['short', 'later']) {
        const text = await eventually(async () => {
          const why = await failureOf(
            `CLIENTS.${name}:publish { subject = 'events.down', payload = 'p', await_ack = true }`,
          );
          return /not connected/.test(why) ? why : undefined;
        }, 30_000);
        expect(text).toMatch(/nats client:publish: not connected to 127\.0\.0\.1:\d+ within 1s/);
      }
      expect(
        await failureOf(`CLIENTS.short:publish { subject = 'plain.down', payload = 'p' }`),
      ).toMatch(/nats client:publish: not connected/);
    } finally {
      await nats.start();
    }
    for (const name of ['short', 'later']) {
      await eventually(
        () =>
          run(
            // An id per client: a retry of a publish that timed out while its message did
            // reach the stream is dropped by the stream, so each name is stored once.
            `CLIENTS.${name}:publish { subject = 'events.back', payload = '${name}', headers = { ['Nats-Msg-Id'] = 'back-${name}' }, await_ack = true }`,
          ).then(
            () => true,
            () => undefined,
          ),
        60_000,
      );
    }
    // The store survived the restart and took each client's message once. (The test's own
    // connection may still be reconnecting: asked again until it answers.) A publish that
    // failed while the server was down is not counted: one made as the socket closed can still
    // reach the stream when the client reconnects and sends what it had buffered, which is why
    // a caller that retries (a log hook) sets Nats-Msg-Id.
    const back = await eventually(
      () => storedOn('EVENTS', 'events.back').catch(() => undefined),
      30_000,
    );
    expect(back).toBe(2);
    expect(await stored('EVENTS')).toBeGreaterThanOrEqual(before + 2);
  });

  it('close ends the client: a later publish raises, a second close is harmless', async () => {
    await run(
      `
      local c = kumo.nats.connect { servers = { ... } }
      c:publish { subject = 'plain.x', payload = 'p' }
      c:close()
      c:close()
      CLIENTS.closed = c`,
      nats.server,
    );
    await expect(
      run(`CLIENTS.closed:publish { subject = 'plain.x', payload = 'p' }`),
    ).rejects.toThrow('nats client:publish: the client is closed');
  });

  it('kumo.kafka says it is not supported yet, and why', async () => {
    await expect(
      run(`kumo.kafka.build_producer { ['bootstrap.servers'] = 'localhost:9092' }`),
    ).rejects.toThrow(
      /kumo\.kafka\.build_producer: Kafka is not yet supported by Sterna: no Kafka-protocol broker can be installed from Debian's packages/,
    );
    expect(
      await run(`return require('kumo.kafka') == kumo.kafka and require('kumo.nats') == kumo.nats`),
    ).toBe(true);
  });
});

describe('kumo.nats.connect options', () => {
  // The table as the worker's schema hands it over: KumoMTA's defaults filled in.
  const parse = (
    table: Partial<NatsConnectParams> & Pick<NatsConnectParams, 'servers'>,
  ): NatsConnectParams => ({
    no_echo: false,
    max_reconnects: 0,
    connection_timeout: 5,
    tls_required: false,
    tls_first: false,
    request_timeout: 10,
    retry_on_initial_connect: false,
    ignore_discovered_servers: false,
    retain_servers_order: false,
    ...table,
  });

  it("maps KumoMTA's keys onto the client library's", async () => {
    const options = await natsOptions(
      parse({
        servers: ['a:4222', 'b:4222'],
        name: 'n',
        no_echo: true,
        max_reconnects: 0,
        connection_timeout: 3,
        ping_interval: 30,
        inbox_prefix: '_MY',
        ignore_discovered_servers: true,
        retain_servers_order: true,
        auth: { token: { key_data: 'secret-token' } },
      }),
    );
    expect(options).toMatchObject({
      servers: ['a:4222', 'b:4222'],
      name: 'n',
      noEcho: true,
      maxReconnectAttempts: -1,
      timeout: 3000,
      pingInterval: 30_000,
      inboxPrefix: '_MY',
      ignoreClusterUpdates: true,
      noRandomize: true,
      token: 'secret-token',
    });
    expect(options.tls).toBeUndefined();
    expect(
      (await natsOptions(parse({ servers: ['a'], max_reconnects: 5 }))).maxReconnectAttempts,
    ).toBe(5);
  });

  it('reads username and password from key sources (a file or key_data)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sterna-nats-key-'));
    try {
      await writeFile(join(dir, 'password'), 's3cret\n');
      const options = await natsOptions(
        parse({
          servers: ['a'],
          auth: { username: { key_data: 'me' }, password: join(dir, 'password') },
        }),
      );
      expect(options).toMatchObject({ user: 'me', pass: 's3cret' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses incomplete or contradictory credentials', async () => {
    await expect(
      natsOptions(parse({ servers: ['a'], auth: { username: { key_data: 'me' } } })),
    ).rejects.toThrow('auth needs both username and password (or a token alone)');
    await expect(
      natsOptions(
        parse({
          servers: ['a'],
          auth: {
            username: { key_data: 'me' },
            password: { key_data: 'p' },
            token: { key_data: 't' },
          },
        }),
      ),
    ).rejects.toThrow('auth takes username and password, or a token, not both');
    await expect(
      natsOptions(parse({ servers: ['a'], auth: { token: '/no/such/file' } })),
    ).rejects.toThrow('auth.token: cannot read key file (ENOENT)');
  });

  it('turns TLS on for tls_required, tls_first or a certificate', async () => {
    const options = await natsOptions(
      parse({ servers: ['a'], tls_first: true, certificate: '/ca.pem' }),
    );
    expect(options.tls).toEqual({ handshakeFirst: true, caFile: '/ca.pem' });
    await expect(natsOptions(parse({ servers: ['a'], client_cert: '/c.pem' }))).rejects.toThrow(
      'client_cert and client_key go together',
    );
  });
});
