import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { type RabbitMqService, startRabbitMq } from '@sterna/protocol-testkit';
import { type Channel, type ChannelModel, connect } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChunkRuntime, startChunkRuntime } from '../support/policy-chunks.js';

// kumo.amqp from a real policy runtime, answered by the daemon's PolicyServices, against a real
// RabbitMQ. The policy runs the Lua chunks the tests give it, so each test reads as the policy
// code it exercises.

/**
 * A TCP relay to the broker that can be frozen: while frozen it passes nothing either way and
 * keeps every socket open, as a broker that stopped answering looks to its clients.
 */
async function stallingRelay(port: number) {
  let frozen = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(port, '127.0.0.1');
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.on('data', (chunk) => {
        if (!frozen) to.write(chunk);
      });
      from.on('error', () => {});
      from.on('close', () => {
        sockets.delete(from);
        to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    freeze: (on: boolean) => {
      frozen = on;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('kumo.amqp against a real RabbitMQ', { timeout: 180_000 }, () => {
  let rabbit: RabbitMqService;
  let model: ChannelModel;
  let channel: Channel;
  let chunks: ChunkRuntime;

  const run = (code: string, ...args: unknown[]) => chunks.run(code, ...args);
  const failure = (code: string, ...args: unknown[]) => chunks.failure(code, ...args);
  // Everything in the queue now (the publishes were confirmed, so it is there).
  const drain = async (queue: string) => {
    const got: { body: string; properties: Record<string, unknown> }[] = [];
    for (;;) {
      const message = await channel.get(queue, { noAck: true });
      if (!message) return got;
      got.push({ body: message.content.toString(), properties: { ...message.properties } });
    }
  };

  beforeAll(async () => {
    rabbit = await startRabbitMq();
    model = await connect(rabbit.url);
    // This test's own connection dies with the broker's stop: told, not thrown.
    model.on('error', () => {});
    channel = await model.createChannel();
    channel.on('error', () => {});
    await channel.assertQueue('plain', { durable: true });
    await channel.assertQueue('props', { durable: true });
    // A queue that refuses what does not fit: RabbitMQ nacks the publish.
    await channel.assertQueue('full', {
      durable: true,
      arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' },
    });
    chunks = await startChunkRuntime({ contexts: 1, deadlineMs: 60_000 });
  }, 150_000);
  afterAll(async () => {
    await chunks?.close();
    await model?.close().catch(() => undefined);
    await rabbit?.close();
  });

  it('build_client: publish returns the broker confirmation (Ack), the message is in the queue', async () => {
    const result = await run(
      `local url = ...
       CLIENTS.main = kumo.amqp.build_client(url)
       local confirm = CLIENTS.main:publish { routing_key = 'plain', payload = 'w00t!' }
       return confirm:wait()`,
      rabbit.url,
    );
    expect(result).toEqual({ status: 'Ack' });
    expect((await drain('plain')).map((m) => m.body)).toEqual(['w00t!']);
  });

  it("build_client: the client's properties table is passed on (persistent messages)", async () => {
    await run(`
      CLIENTS.main:publish {
        routing_key = 'props', payload = '{}',
        properties = { delivery_mode = 2, content_type = 'application/json', kind = 'log' },
      }:wait()`);
    const [message] = await drain('props');
    expect(message?.properties).toMatchObject({
      deliveryMode: 2,
      contentType: 'application/json',
      type: 'log',
    });
  });

  it('build_client: a message the queue refuses is a Nack from wait(), not an error', async () => {
    const statuses = await run(`
      local out = {}
      for i = 1, 2 do
        out[i] = CLIENTS.main:publish { routing_key = 'full', payload = 'n' .. i }:wait().status
      end
      return out`);
    expect(statuses).toEqual(['Ack', 'Nack']);
  });

  it('build_client: close() twice raises; a closed client cannot publish', async () => {
    const message = await failure(
      `local client = kumo.amqp.build_client(...)
       client:close()
       client:publish { routing_key = 'plain', payload = 'x' }`,
      rabbit.url,
    );
    expect(message).toMatch(/amqp client:publish: the client is closed/);
    expect(
      await failure(
        `local client = kumo.amqp.build_client(...)
         client:close()
         client:close()`,
        rabbit.url,
      ),
    ).toMatch(/amqp client:close: the client is closed/);
    // The shared client of the other tests is untouched by these closes.
    expect(
      await run(`return CLIENTS.main:publish { routing_key = 'plain', payload = 'still' }:wait()`),
    ).toEqual({ status: 'Ack' });
    expect((await drain('plain')).map((m) => m.body)).toEqual(['still']);
  });

  it('bad input raises naming the function and the value', async () => {
    expect(await failure(`kumo.amqp.build_client('http://localhost/')`)).toMatch(
      /kumo\.amqp\.build_client: 'http:\/\/localhost\/' is not an AMQP URI/,
    );
    expect(await failure(`CLIENTS.main:publish { routing_key = 'plain' }`)).toMatch(
      /amqp client:publish.*payload/,
    );
    expect(
      await failure(`kumo.amqp.basic_publish { routing_key = 'plain', payload = 'x' }`),
    ).toMatch(/kumo\.amqp\.basic_publish.*connection/);
    expect(
      await failure(
        `kumo.amqp.basic_publish { routing_key = 'plain', payload = 'x', immediate = true,
           connection = { host = '127.0.0.1', port = ${rabbit.port}, username = 'guest', password = 'guest' } }`,
      ),
    ).toMatch(/kumo\.amqp\.basic_publish: immediate = true is not supported/);
  });

  it("basic_publish: confirmed before it returns, with KumoMTA's message properties", async () => {
    await run(
      `local port = ...
       for i = 1, 3 do
         kumo.amqp.basic_publish {
           routing_key = 'props', payload = 'basic ' .. i,
           connection = { host = '127.0.0.1', port = port, username = 'guest', password = 'guest',
                          connection_name = 'sterna-test', publish_timeout = '5s' },
           delivery_mode = 2, message_id = 'id-' .. i, headers = { tenant = 'acme' },
           app_id = 'sterna', correlation_id = 'c', reply_to = 'r', priority = 1, timestamp = 1700000000,
         }
       end`,
      rabbit.port,
    );
    const got = await drain('props');
    expect(got.map((m) => m.body)).toEqual(['basic 1', 'basic 2', 'basic 3']);
    expect(got[0]?.properties).toMatchObject({
      deliveryMode: 2,
      messageId: 'id-1',
      headers: { tenant: 'acme' },
      appId: 'sterna',
      correlationId: 'c',
      replyTo: 'r',
      priority: 1,
      timestamp: 1700000000,
    });
  });

  it('basic_publish raises on a Nack', async () => {
    const message = await failure(
      `kumo.amqp.basic_publish {
         routing_key = 'full', payload = 'over',
         connection = { host = '127.0.0.1', port = ... },
       }`,
      rabbit.port,
    );
    expect(message).toMatch(
      /kumo\.amqp\.basic_publish: amqp:\/\/127\.0\.0\.1:\d+ refused the message \(Nack\)/,
    );
  });

  it('a broker that stops answering: the publish raises after publish_timeout, connecting after connect_timeout; fine again once it answers', async () => {
    const relay = await stallingRelay(rabbit.port);
    try {
      const publish = `kumo.amqp.basic_publish {
           routing_key = 'plain', payload = ...,
           connection = { host = '127.0.0.1', port = ${relay.port}, connect_timeout = '1s', publish_timeout = '1s' } }`;
      await run(publish, 'through the relay');
      relay.freeze(true);
      expect(await failure(publish, 'frozen')).toMatch(
        /kumo\.amqp\.basic_publish: amqp:\/\/127\.0\.0\.1:\d+ did not confirm the message within 1 s/,
      );
      // That connection was given up; a new one gets no answer either.
      expect(await failure(publish, 'frozen again')).toMatch(
        /kumo\.amqp\.basic_publish: cannot connect to amqp:\/\/127\.0\.0\.1:\d+: no answer within 1 s/,
      );
      relay.freeze(false);
      await run(publish, 'answered again');
      // What the broker got: the frozen publish may have reached it before the freeze cut the
      // confirmation off (the sender then raised: at least once, never silently lost).
      const bodies = (await drain('plain')).map((m) => m.body);
      expect(bodies[0]).toBe('through the relay');
      expect(bodies.at(-1)).toBe('answered again');
      expect(bodies).not.toContain('frozen again');
    } finally {
      await relay.close();
    }
  });

  it('with the broker down both forms raise promptly; both work again once it is back', async () => {
    await rabbit.stop();
    const basic = `kumo.amqp.basic_publish {
         routing_key = 'plain', payload = ..., connection = { host = '127.0.0.1', port = PORT } }`.replace(
      'PORT',
      String(rabbit.port),
    );
    const started = Date.now();
    expect(
      await failure(`return CLIENTS.main:publish { routing_key = 'plain', payload = 'down' }`),
    ).toMatch(/amqp client:publish: cannot connect to amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+/);
    expect(await failure(basic, 'down')).toMatch(
      /kumo\.amqp\.basic_publish: cannot connect to amqp:\/\/127\.0\.0\.1:\d+/,
    );
    expect(await failure(`kumo.amqp.build_client(...)`, rabbit.url)).toMatch(
      /kumo\.amqp\.build_client: cannot connect/,
    );
    // Refused connections fail at once; the limit is the 5 s connect time-out at worst.
    expect(Date.now() - started).toBeLessThan(40_000);
    await rabbit.start();
    await run(`CLIENTS.main:publish { routing_key = 'plain', payload = 'back' }:wait()`);
    await run(basic, 'back basic');
    // Durable queues kept across the restart; only what was confirmed is there.
    const reconnected = await connect(rabbit.url);
    const ch = await reconnected.createChannel();
    const bodies: string[] = [];
    for (;;) {
      const message = await ch.get('plain', { noAck: true });
      if (!message) break;
      bodies.push(message.content.toString());
    }
    await reconnected.close();
    expect(bodies).toEqual(['back', 'back basic']);
  });
});
