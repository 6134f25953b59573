import { createRequire } from 'node:module';
import type { RedisParams } from '@sterna/lua';
import type { Cluster, Redis, RedisOptions } from 'ioredis';

/** A connection to one redis server or a redis cluster (ioredis' two clients share commands). */
export type RedisClient = Redis | Cluster;

// ioredis (CommonJS), loaded by the first connection: a daemon that never talks to redis does
// not pay the ~0.1–0.2 s of CPU its modules take to load.
const require = createRequire(import.meta.url);
let ioredis: typeof import('ioredis') | undefined;
const library = () => (ioredis ??= require('ioredis') as typeof import('ioredis'));

/** True for a connection to a redis cluster. */
export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof library().Cluster;
}

/** How a caller wants failures handled. */
export interface RedisConnectOptions {
  /**
   * Commands issued while the server is unreachable fail at the next failed reconnection
   * attempt (within two seconds) instead of waiting for the server to return (the throttles'
   * choice: a limit that cannot be checked is not waited on forever). @default false (they
   * wait through 20 reconnection attempts)
   */
  readonly failFast?: boolean;
  /** A name for the connection, seen in `CLIENT LIST`. */
  readonly connectionName?: string;
  /**
   * Told of each connection failure (ioredis reports one per failed attempt while the server is
   * away); the caller decides what to log. @default ignored
   */
  readonly onError?: (error: Error) => void;
  /**
   * For a connection that subscribes: ioredis' own re-subscription after a reconnection is off
   * (its promise has no handler, so a connection closed right then is an unhandled rejection);
   * the caller subscribes on each `ready` instead. @default false
   */
  readonly subscriber?: boolean;
  /** Start connecting only on the first command. @default false */
  readonly lazy?: boolean;
}

// One node address of a cluster: host and port out of a redis URL.
function clusterNode(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname || '127.0.0.1', port: parsed.port ? Number(parsed.port) : 6379 };
}

/**
 * Opens a redis connection with KumoMTA's `redis.open` parameters: one URL
 * (`redis://[user][:password@]host[:port][/db]`, `rediss://` for TLS), or a list of them (or
 * `cluster = true`) for a redis cluster, where `username`/`password` apply to every node.
 * Reconnects on its own, with a growing pause up to two seconds.
 */
export function openRedis(params: RedisParams, options: RedisConnectOptions = {}): RedisClient {
  const nodes = typeof params.node === 'string' ? [params.node] : [...params.node];
  const first = nodes[0];
  if (first === undefined) throw new Error('redis: no node given');
  for (const node of nodes) {
    if (!/^rediss?:\/\//.test(node)) {
      throw new Error(`redis: '${node}' is not a redis URL (redis://host:port/ or rediss://…)`);
    }
  }
  const common: RedisOptions = {
    connectTimeout: params.connect_timeout * 1000,
    commandTimeout:
      params.response_timeout !== undefined ? params.response_timeout * 1000 : undefined,
    // A command is tried again after a reconnection only when the caller waits for it.
    maxRetriesPerRequest: options.failFast ? 0 : 20,
    retryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
    connectionName: options.connectionName,
    lazyConnect: options.lazy ?? false,
    autoResubscribe: !options.subscriber,
  };
  const cluster = params.cluster ?? nodes.length > 1;
  const client = cluster
    ? clusterClient(nodes, params, common)
    : new (library().Redis)(first, common);
  client.on('error', options.onError ?? (() => {}));
  return client;
}

function clusterClient(
  nodes: readonly string[],
  params: RedisParams,
  common: RedisOptions,
): Cluster {
  const first = new URL(nodes[0] as string);
  return new (library().Cluster)(nodes.map(clusterNode), {
    scaleReads: params.read_from_replicas ? 'slave' : 'master',
    lazyConnect: common.lazyConnect,
    clusterRetryStrategy: common.retryStrategy as (times: number) => number,
    redisOptions: {
      ...common,
      username: params.username ?? (decodeURIComponent(first.username) || undefined),
      password: params.password ?? (decodeURIComponent(first.password) || undefined),
      tls: first.protocol === 'rediss:' ? {} : undefined,
    },
  });
}

/** A redis URL as it may be logged: without its password. */
export function describeRedis(params: Pick<RedisParams, 'node'>): string {
  const nodes = typeof params.node === 'string' ? [params.node] : [...params.node];
  return nodes
    .map((node) => {
      try {
        const url = new URL(node);
        if (url.password) url.password = '***';
        return url.toString();
      } catch {
        return node;
      }
    })
    .join(', ');
}

/** The message of a redis failure, for one log line. */
export function redisProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}
