/**
 * What a handler asks of the daemon while it runs: DNS look-ups through the daemon's resolver,
 * named throttles shared by every worker, logs, background tasks, bounce classification and
 * redis. The TypeScript spellings of `kumo.dns.*`, `kumo.make_throttle`, `kumo.log_*`,
 * `kumo.spawn_task`, `kumo.classify_bounce` and `kumo.redis.open`, with the same semantics.
 * @module
 */
import { parseThrottleSpec, type ThrottleResult } from '@sterna/core/engine';
import { type LogLevel, type Message, parseWith, redisParamsSchema } from '@sterna/lua';
import {
  configureResolver,
  setMxConcurrencyLimit,
  setMxNegativeCacheTtl,
  setMxTimeout,
} from './configure.js';
import { askDaemon, tellDaemon } from './daemon.js';
import type { TableOf } from './table-types.js';

/** What `dns.lookupMx(domain)` resolves to (KumoMTA's MX table). */
export interface MxTable {
  readonly domain_name: string;
  /** The MX hosts joined, naming the "site" queues share. */
  readonly site_name: string;
  /** The hosts in preference order. */
  readonly hosts: readonly string[];
  /** Preference → hosts. */
  readonly by_pref: Readonly<Record<string, readonly string[]>>;
  /** False when the domain has no MX record and its own address is used. */
  readonly is_mx: boolean;
  readonly is_secure: boolean;
  readonly is_domain_literal: boolean;
}

/** `kumo.dns`: look-ups through the daemon's resolver, and its configuration. */
export const dns = {
  /** The MX hosts of `domain` (`kumo.dns.lookup_mx`). */
  lookupMx: (domain: string): Promise<MxTable> =>
    askDaemon(`dns.lookupMx ${domain}`, 'dns_lookup_mx', [String(domain)]),
  /** The IPv4 and IPv6 addresses of `name` (`kumo.dns.lookup_addr`). */
  lookupAddr: (name: string): Promise<string[]> =>
    askDaemon(`dns.lookupAddr ${name}`, 'dns_lookup_addr', [String(name)]),
  /** The TXT records of `name`, each one's strings joined (`kumo.dns.lookup_txt`). */
  lookupTxt: (name: string): Promise<string[]> =>
    askDaemon(`dns.lookupTxt ${name}`, 'dns_lookup_txt', [String(name)]),
  /** The PTR names of an address (`kumo.dns.lookup_ptr`). */
  lookupPtr: (ip: string): Promise<string[]> =>
    askDaemon(`dns.lookupPtr ${ip}`, 'dns_lookup_ptr', [String(ip)]),
  /** The resolver the daemon uses (`kumo.dns.configure_resolver`); from `init`. */
  configureResolver,
  /** The MX look-ups' tuning (`kumo.dns.set_mx_*`); from `pre_init`, applied as called. */
  setMxTimeout,
  setMxNegativeCacheTtl,
  setMxConcurrencyLimit,
} as const;

/**
 * A throttle check's answer (`throttle:throttle()` in Lua, whose keys are snake_case):
 * durations in seconds, `retryAfter` undefined when the operation may go.
 */
export type ThrottleCheck = ThrottleResult;

/** A named GCRA throttle (`kumo.make_throttle`), shared by every worker of the daemon. */
export interface Throttle {
  readonly name: string;
  readonly spec: string;
  /** Counts the operation when it may go; says whether it must wait, and how long. */
  throttle(): Promise<ThrottleCheck>;
  /**
   * Waits (this handler only) until the operation may go, counting it then; `true` when it had
   * to wait.
   */
  sleepIfThrottled(): Promise<boolean>;
  /**
   * When throttled, makes `message` due `retryAfter` from now (no jitter, as KumoMTA); `true`
   * when it did. For `throttle_insert_ready_queue`.
   */
  delayMessageIfThrottled(message: Message): Promise<boolean>;
  /** `Throttle(name, spec)`. */
  toString(): string;
}

/**
 * Makes a named throttle (`kumo.make_throttle(name, spec)`): `spec` as KumoMTA writes it,
 * `[local:]quantity/period[,max_burst=N]` (`'100/h'`, `'local:10/s'`). Every worker, task and
 * the daemon's own shaping share one state per name (the daemon keys it
 * `lua-user-throttle-<name>`, as KumoMTA, so a Lua and a TypeScript policy share it too). The
 * spec is checked here.
 *
 * @throws Error `makeThrottle: …` for a name that is not a string or a bad spec.
 */
export function makeThrottle(name: string | number, spec: string): Throttle {
  if (typeof name !== 'string' && typeof name !== 'number') {
    throw new TypeError('makeThrottle: the name must be a string');
  }
  const key = String(name);
  if (typeof spec !== 'string') {
    throw new TypeError("makeThrottle: the spec must be a string such as '10/s'");
  }
  let parsed: ReturnType<typeof parseThrottleSpec>;
  try {
    parsed = parseThrottleSpec(spec);
  } catch (error) {
    throw new Error(`makeThrottle: ${(error as Error).message}`);
  }
  const check = () => askDaemon(`throttle '${key}'`, 'throttle_check', [key, parsed]);
  return {
    name: key,
    spec,
    throttle: check,
    async sleepIfThrottled() {
      let waited = false;
      for (;;) {
        const { retryAfter } = await check();
        if (retryAfter === undefined) return waited;
        waited = true;
        await sleep(retryAfter);
      }
    },
    async delayMessageIfThrottled(message: Message) {
      if (typeof message?.setDue !== 'function') {
        throw new TypeError(`throttle '${key}': delayMessageIfThrottled expects a message`);
      }
      const { retryAfter } = await check();
      if (retryAfter === undefined) return false;
      message.setDue(Date.now() + Math.ceil(Math.max(0, retryAfter * 1000)));
      return true;
    },
    toString: () => `Throttle(${key}, ${spec})`,
  };
}

const sleep = (seconds: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, seconds * 1000)));

// Log text as kumo.log_* makes it: the arguments' text, joined by spaces.
const logger =
  (level: LogLevel) =>
  (...args: unknown[]): void =>
    tellDaemon(`log.${level}`, 'log', [level, args.map(String).join(' ')]);

/** The daemon's log (`kumo.log_error`, `log_warn`, `log_info`, `log_debug`). */
export const log = {
  error: logger('error'),
  warn: logger('warn'),
  info: logger('info'),
  debug: logger('debug'),
} as const;

/**
 * Runs the event `event` in the background with `args` (`kumo.spawn_task{ event_name, args }`):
 * in a worker of its own, nothing waits for it; its error is logged. Resolves once the daemon
 * took it.
 */
export function spawnTask(event: string, args?: unknown): Promise<void> {
  if (typeof event !== 'string' || event === '') {
    return Promise.reject(new TypeError('spawnTask: the event must be the name of an event'));
  }
  return askDaemon('spawnTask', 'spawn_task', [event, args]);
}

/** A delivery response as a log record holds it. */
export interface BounceResponse {
  readonly code?: number;
  readonly enhanced_code?: unknown;
  readonly content?: string;
  readonly [key: string]: unknown;
}

/**
 * The bounce category of a response (`kumo.classify_bounce`, Sterna's own): from a reply text
 * (`'550 5.1.1 user unknown'`) or a record's `response` table, by the rules of
 * `configureBounceClassifier`; `'Uncategorized'` when none matches.
 */
export function classifyBounce(response: string | BounceResponse): Promise<string> {
  if (typeof response !== 'string' && (typeof response !== 'object' || response === null)) {
    return Promise.reject(
      new TypeError('classifyBounce: expected a response text or a {code, enhanced_code, content}'),
    );
  }
  return askDaemon('classifyBounce', 'classify_bounce', [
    response as string | Record<string, unknown>,
  ]);
}

/** `redis.open`'s table: `node` (a URL, or a list for a cluster), `pool_size`, timeouts… */
export type RedisParams = TableOf<typeof redisParamsSchema>;

/** A redis connection (`kumo.redis.open`), shared per distinct parameters by every worker. */
export interface RedisConnection {
  /**
   * One command (`conn:query(cmd, ...)`): its reply in RESP2 shapes (an array reply is an
   * array, a null reply `null`, an integer a number, a status or bulk string a string). A redis
   * error rejects with `redis query <CMD>: …`.
   */
  query(command: string, ...args: (string | number)[]): Promise<unknown>;
}

/** `kumo.redis`: connections held by the daemon. */
export const redis = {
  /** Opens (or reuses) the connection for `params`. */
  async open(params: RedisParams): Promise<RedisConnection> {
    const parsed = parseWith(redisParamsSchema, params, 'redis.open');
    const id = await askDaemon('redis.open', 'redis_open', [parsed]);
    return {
      query(command, ...args) {
        if (typeof command !== 'string' || command === '') {
          return Promise.reject(new TypeError('redis query: expected a command name'));
        }
        const bad = args.findIndex((a) => typeof a !== 'string' && typeof a !== 'number');
        if (bad >= 0) {
          return Promise.reject(
            new TypeError(
              `redis query ${command}: argument ${bad + 1} must be a string or a number`,
            ),
          );
        }
        return askDaemon(`redis query ${command}`, 'redis_query', [id, command, args]);
      },
    };
  },
} as const;
