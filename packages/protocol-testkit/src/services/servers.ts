import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, type LoopbackService, startService, waitForPort } from './service.js';

const run = promisify(execFile);

// Where Debian puts a server's executable (the packages differ: nats-server is in /usr/sbin).
function installedPath(name: string): string {
  const dirs = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];
  return dirs.map((dir) => join(dir, name)).find((path) => existsSync(path)) ?? `/usr/bin/${name}`;
}

/** Options of {@link startRedis}. */
export interface RedisOptions {
  /** Keep the data across {@link LoopbackService.stop} and start (an append-only file). @default false */
  readonly persist?: boolean;
  /**
   * Run as a one-node redis cluster (`cluster-enabled yes`, every hash slot on this node), for
   * clients in cluster mode. @default false
   */
  readonly cluster?: boolean;
}

/** A real `redis-server` (Debian's redis-server package) on a free loopback port. */
export interface RedisService extends LoopbackService {
  /** `redis://127.0.0.1:PORT/`, for `kumo.configure_redis_throttles{ node = … }`. */
  readonly url: string;
}

/** Starts Debian's `redis-server` on 127.0.0.1 with a free port and a data directory of its own. */
export async function startRedis(options: RedisOptions = {}): Promise<RedisService> {
  const service = await startService({
    name: 'redis-server',
    debianPackage: 'redis-server',
    command: installedPath('redis-server'),
    args: (port, dir) => [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      options.persist ? 'yes' : 'no',
      '--daemonize',
      'no',
      '--logfile',
      '',
      ...(options.cluster
        ? [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dir, 'nodes.conf'),
            // Without it CLUSTER SLOTS names no host, and cluster clients cannot follow it.
            '--cluster-announce-ip',
            '127.0.0.1',
          ]
        : []),
    ],
    ready: async (port, output) => {
      await waitForPort(port, 20_000, output);
      if (options.cluster) await ownAllSlots(port);
    },
  });
  return Object.assign(service, { url: `redis://127.0.0.1:${service.port}/` });
}

// One inline command over a fresh connection; resolves with the first reply.
function redisCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.once('error', reject);
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.endsWith('\r\n')) {
        socket.destroy();
        resolve(reply);
      }
    });
    socket.write(`${command}\r\n`);
  });
}

// Gives this node every hash slot (once; a restart keeps them in nodes.conf) and waits until
// the cluster says it is ok.
async function ownAllSlots(port: number): Promise<void> {
  const info = await redisCommand(port, 'CLUSTER INFO');
  if (!info.includes('cluster_slots_assigned:16384'))
    await redisCommand(port, 'CLUSTER ADDSLOTSRANGE 0 16383');
  const deadline = Date.now() + 20_000;
  while (!(await redisCommand(port, 'CLUSTER INFO')).includes('cluster_state:ok')) {
    if (Date.now() > deadline) throw new Error(`redis cluster on ${port} did not become ok`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A real `nats-server` with JetStream (Debian's nats-server package) on a free loopback port. */
export interface NatsService extends LoopbackService {
  /** `127.0.0.1:PORT`, for `kumo.nats.connect{ servers = { … } }`. */
  readonly server: string;
}

/**
 * Starts Debian's `nats-server` on 127.0.0.1 with JetStream on, its store in a directory of its
 * own (kept across stop and start, so streams and their messages survive a restart).
 */
export async function startNats(): Promise<NatsService> {
  const service = await startService({
    name: 'nats-server',
    debianPackage: 'nats-server',
    command: installedPath('nats-server'),
    args: (port, dir) => ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'js')],
    ready: (port, output) => waitForPort(port, 20_000, output),
  });
  return Object.assign(service, { server: `127.0.0.1:${service.port}` });
}

/** A real RabbitMQ broker (Debian's rabbitmq-server package) on free loopback ports. */
export interface RabbitMqService extends LoopbackService {
  /** `amqp://guest:guest@127.0.0.1:PORT`, for `kumo.amqp.build_client`. */
  readonly url: string;
}

// The broker's own start script (the packaged wrapper insists on su to the rabbitmq user).
function rabbitScript(): string {
  const base = '/usr/lib/rabbitmq/lib';
  const version = existsSync(base)
    ? readdirSync(base).find((name) => name.startsWith('rabbitmq_server-'))
    : undefined;
  return version ? join(base, version, 'sbin', 'rabbitmq-server') : '/usr/sbin/rabbitmq-server';
}

/**
 * Starts Debian's RabbitMQ on 127.0.0.1: AMQP, Erlang distribution and epmd each on a free
 * loopback port, the broker's database and logs in a directory of its own (kept across stop and
 * start, so durable queues and persistent messages survive a restart). The `guest` user may log
 * in from loopback, as RabbitMQ allows by default.
 */
export async function startRabbitMq(): Promise<RabbitMqService> {
  const distPort = await freePort();
  const epmdPort = await freePort();
  const env = (port: number, dir: string): Record<string, string> => ({
    HOME: dir,
    RABBITMQ_NODENAME: `sterna-test-${port}@localhost`,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    ERL_EPMD_PORT: String(epmdPort),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  });
  const service = await startService({
    name: 'rabbitmq-server',
    debianPackage: 'rabbitmq-server',
    command: rabbitScript(),
    args: () => [],
    env,
    prepare: async (_port, dir) => {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'enabled_plugins'), '[].\n');
      // A small disk limit: the test machine's free space must not block publishers.
      await writeFile(join(dir, 'rabbitmq.conf'), 'disk_free_limit.absolute = 50MB\n');
    },
    ready: (port, output) => waitForPort(port, 60_000, output),
    startMs: 90_000,
  });
  const stop = service.stop.bind(service);
  const close = service.close.bind(service);
  // epmd daemonizes out of the broker's process group: told to go once the broker is down.
  const stopEpmd = () =>
    run('epmd', ['-kill'], { env: { ...process.env, ERL_EPMD_PORT: String(epmdPort) } }).then(
      () => undefined,
      () => undefined,
    );
  return Object.assign(service, {
    url: `amqp://guest:guest@127.0.0.1:${service.port}`,
    stop: async () => {
      await stop();
      await stopEpmd();
    },
    close: async () => {
      await close();
      await stopEpmd();
    },
  });
}
