import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { type LoopbackService, startNats, startRabbitMq, startRedis } from '../src/index.js';

// The first bytes a server sends (or answers to `hello`) on a fresh connection.
function firstBytes(port: number, hello?: Buffer | string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('error', reject);
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data);
    });
    if (hello !== undefined) socket.write(hello);
  });
}

const started: LoopbackService[] = [];
afterAll(async () => {
  await Promise.all(started.map((service) => service.close()));
});

describe('the real servers tests start on loopback', () => {
  it('redis-server answers PING, and stops and starts again on the same port', async () => {
    const redis = await startRedis();
    started.push(redis);
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}/`);
    expect((await firstBytes(redis.port, 'PING\r\n')).toString()).toBe('+PONG\r\n');
    await redis.stop();
    expect(redis.running).toBe(false);
    await expect(firstBytes(redis.port, 'PING\r\n')).rejects.toThrow(/ECONNREFUSED/);
    await redis.start();
    expect((await firstBytes(redis.port, 'PING\r\n')).toString()).toBe('+PONG\r\n');
  });

  it('nats-server greets with INFO and JetStream on', async () => {
    const nats = await startNats();
    started.push(nats);
    const info = (await firstBytes(nats.port)).toString();
    expect(info).toMatch(/^INFO /);
    expect(JSON.parse(info.slice(5))).toMatchObject({ jetstream: true, port: nats.port });
  });

  it('RabbitMQ answers the AMQP 0-9-1 header with Connection.Start', async () => {
    const rabbit = await startRabbitMq();
    started.push(rabbit);
    const frame = await firstBytes(rabbit.port, Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
    // A method frame (type 1) on channel 0, class 10 (connection) method 10 (start).
    expect(frame[0]).toBe(1);
    expect(frame.readUInt16BE(1)).toBe(0);
    expect(frame.readUInt16BE(7)).toBe(10);
    expect(frame.readUInt16BE(9)).toBe(10);
  }, 120_000);
});

describe('redis-server as a one-node cluster', () => {
  it('owns every hash slot and says the cluster is ok', async () => {
    const redis = await startRedis({ cluster: true });
    started.push(redis);
    const info = (await firstBytes(redis.port, 'CLUSTER INFO\r\n')).toString();
    expect(info).toContain('cluster_state:ok');
    expect(info).toContain('cluster_slots_assigned:16384');
  });
});
