import type { Logger } from '@sterna/core';
import type { RedisParams } from '@sterna/lua';
import { describeRedis, openRedis, type RedisClient, redisProblem } from './redis-connect.js';

/** One connection of `redis.open`, with what its failures need to be told well. */
interface Connection {
  client: RedisClient;
  /** The node(s), for messages. */
  readonly where: string;
  /** The last connection failure while the server is away; cleared when it is back. */
  down: string | undefined;
}

/**
 * The redis connections a policy opens with `kumo.redis.open{…}` / `require 'redis'`: one ioredis
 * client per distinct set of parameters (equal tables, after KumoMTA's defaults, share one),
 * opened on the daemon's thread and used by every Lua context; Lua holds its number.
 *
 * A command sent while the server is unreachable fails at the next failed reconnection attempt
 * (within about two seconds) instead of waiting for it to return, so a policy event is never
 * held past its deadline by a redis that is away; the client reconnects on its own. Commands
 * that would change or hold the shared connection (MULTI, SELECT, SUBSCRIBE, BLPOP, …) are
 * refused with the reason.
 */
export class PolicyRedis {
  readonly #log: Logger;
  readonly #byParams = new Map<string, number>();
  readonly #connections: Connection[] = [];
  #closed = false;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** `redis.open{…}`: the number of the connection for these parameters, opened if new. */
  open(params: RedisParams): number {
    if (this.#closed) throw new Error('the daemon is stopping');
    const key = JSON.stringify(params);
    const known = this.#byParams.get(key);
    if (known !== undefined) return known;
    const entry = { where: describeRedis(params), down: undefined } as Connection;
    entry.client = openRedis(params, {
      failFast: true,
      connectionName: 'sterna-policy',
      onError: (error) => {
        const problem = redisProblem(error);
        // One line when the server goes away, one when it is back: not one per attempt.
        if (entry.down === undefined)
          this.#log.warn(`redis.open ${entry.where}: unreachable`, { error: problem });
        entry.down = problem;
      },
    });
    entry.client.on('ready', () => {
      if (entry.down !== undefined) this.#log.info(`redis.open ${entry.where}: reachable again`);
      entry.down = undefined;
    });
    const id = this.#connections.push(entry);
    this.#byParams.set(key, id);
    return id;
  }

  /**
   * `conn:query(cmd, ...)`: the reply as ioredis gives it (RESP2 shapes: arrays, strings,
   * integers, null). A redis error reply, in the reply or nested in it (a transaction's), throws
   * its message.
   */
  async query(id: number, command: string, args: readonly (string | number)[]): Promise<unknown> {
    const entry = this.#connections[id - 1];
    if (!entry) throw new Error(`no redis connection numbered ${id}`);
    const refused = refusal(command, args);
    if (refused) throw new Error(refused);
    let reply: unknown;
    try {
      reply = await entry.client.call(command, ...args);
    } catch (error) {
      throw new Error(failureText(error, entry), { cause: error });
    }
    return plain(reply);
  }

  /** Closes every connection (at daemon stop). */
  async close(): Promise<void> {
    this.#closed = true;
    const clients = this.#connections.map((entry) => entry.client);
    this.#connections.length = 0;
    this.#byParams.clear();
    await Promise.allSettled(
      clients.map((client) => client.quit().catch(() => client.disconnect())),
    );
  }
}

// Commands that change the state of the connection every context shares, or hold it until
// they are answered: one context's MULTI, SUBSCRIBE or SELECT would apply to the others'
// commands, a BLPOP would stall them all.
const CONNECTION_STATE = new Set([
  'MULTI',
  'EXEC',
  'DISCARD',
  'WATCH',
  'UNWATCH',
  'SELECT',
  'SUBSCRIBE',
  'PSUBSCRIBE',
  'SSUBSCRIBE',
  'UNSUBSCRIBE',
  'PUNSUBSCRIBE',
  'SUNSUBSCRIBE',
  'MONITOR',
  'QUIT',
  'RESET',
  'HELLO',
  'AUTH',
]);
const BLOCKING = new Set([
  'BLPOP',
  'BRPOP',
  'BRPOPLPUSH',
  'BLMOVE',
  'BLMPOP',
  'BZPOPMIN',
  'BZPOPMAX',
  'BZMPOP',
  'WAIT',
  'WAITAOF',
]);

// Why a command is not run on the shared connection, or undefined.
function refusal(command: string, args: readonly (string | number)[]): string | undefined {
  const name = command.toUpperCase();
  if (CONNECTION_STATE.has(name)) {
    return `${name} would change the connection every Lua context shares; use EVAL (a Lua script) for several commands run as one`;
  }
  const blocks =
    BLOCKING.has(name) ||
    ((name === 'XREAD' || name === 'XREADGROUP') &&
      args.some((arg) => String(arg).toUpperCase() === 'BLOCK'));
  if (blocks) {
    return `${name} would hold the connection every Lua context shares until it is answered; use its non-blocking form`;
  }
  return undefined;
}

// A failure as the policy reads it: a command refused while the server is away says so, with
// the last connection failure, rather than ioredis' "max retries per request".
function failureText(error: unknown, entry: Connection): string {
  const name = error instanceof Error ? error.name : '';
  if (name === 'MaxRetriesPerRequestError' || (entry.down !== undefined && name !== 'ReplyError'))
    return `redis at ${entry.where} is unreachable${entry.down ? ` (${entry.down})` : ''}`;
  return redisProblem(error);
}

// A reply with any error nested in it (a script's) thrown, Buffers as text.
function plain(reply: unknown): unknown {
  if (reply instanceof Error) throw reply;
  if (Buffer.isBuffer(reply)) return reply.toString('utf8');
  if (Array.isArray(reply)) return reply.map(plain);
  return reply;
}
