/**
 * Every function Lua calls into TypeScript, declared once: its name as Lua calls it (`H.name`
 * in the runtime's .lua files), its arguments and result, and where it runs — `context` on the
 * Lua worker thread, `daemon` forwarded to the daemon's thread. The worker's implementations
 * are typed against this table and registered by iterating it (`hostTable`); the worker →
 * daemon request map ({@link DaemonCalls}) and the daemon's handlers ({@link DaemonHandlers})
 * are derived from its `daemon` entries; test/host-calls.test.ts checks the .lua files against
 * it. Adding a `kumo.*` function: see "Host calls" in the package README.
 */
import { parseThrottleSpec, type ThrottleResult, type ThrottleSpec } from '@sterna/core/engine';
import type { decorateFunction } from 'wasmoon';
import {
  CONFIG_FUNCTIONS,
  CONFIG_SCHEMAS,
  type ConfigKind,
  type ConfigParams,
  type RedisParams,
  redisParamsSchema,
} from '../config/config-params.js';
import { parseWith } from '../config/schema-helpers.js';
import {
  type AmqpBasicPublishParams,
  type AmqpConfirmation,
  type AmqpPublishParams,
  amqpBasicPublishSchema,
  amqpPublishSchema,
  type NatsConnectParams,
  type NatsPublishParams,
  natsConnectSchema,
  natsPublishSchema,
} from '../config/service-params.js';
import { fromLua, toLua } from '../shared/json-text.js';
import type { Handlers } from '../threads/requests.js';
import { context, daemon, daemonHost, onStack } from './host-call-kinds.js';

/** A level of `kumo.log_*`. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** The tables `kumo.make_*` validates. */
export type MakeKind =
  | 'queue_config'
  | 'egress_path'
  | 'egress_pool'
  | 'egress_source'
  | 'listener_domain';

/** The formats of `kumo.serde.<format>_{load,parse,encode}`. */
export type SerdeFormat = 'json' | 'toml' | 'yaml';

/** The operations of `kumo.regex` (a compiled pattern's methods, and `escape`). */
export type RegexOp =
  | 'compile'
  | 'escape'
  | 'is_match'
  | 'find'
  | 'find_all'
  | 'captures'
  | 'replace'
  | 'split';

/** The signers of `kumo.dkim`. */
export type DkimKind = 'rsa_sha256' | 'ed25519';

/** What `kumo.dns.lookup_mx(domain)` returns. */
export interface MxTable {
  domain_name: string;
  site_name: string;
  hosts: string[];
  by_pref: Record<string, string[]>;
  is_mx: boolean;
  is_secure: boolean;
  is_domain_literal: boolean;
}

/** What `Request:send()` gives back to Lua (wrapped in the response metatable there). */
export interface HttpResult {
  status: number;
  reason: string;
  body: string;
  header_map: Record<string, string>;
}

/** Lua's io failure triple: `nil, message, errno`. */
type IoFailure = [nil: undefined, message: string, errno: number];
/** A message object's handle (the Lua side's `self.__h`). */
type Handle = number;

const dnsName = (name: unknown): [string] => [String(name)];

// kumo.spawn_task{ event_name = …, args = … }: the event to run and the value it is given.
function spawnTaskArgs(params: unknown): [event: string, args: unknown] {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw new Error('kumo.spawn_task: expected a table { event_name = …, args = … }');
  }
  const { event_name, args, ...rest } = params as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new Error(`kumo.spawn_task: unknown field '${unknown[0]}'`);
  if (typeof event_name !== 'string' || event_name === '') {
    throw new Error('kumo.spawn_task: event_name must be the name of an event');
  }
  return [event_name, args];
}

/**
 * `kumo.make_throttle(name, spec)`'s arguments checked, the spec parsed: on the worker, so a
 * bad one raises in Lua (`kumo.make_throttle: invalid throttle '…': …`) without asking the
 * daemon.
 */
export function throttleArgs(name: unknown, spec: unknown): [name: string, spec: ThrottleSpec] {
  // Lua's string coercion, as KumoMTA's binding has it: a number is a name too.
  if (typeof name === 'number') name = String(name);
  if (typeof name !== 'string')
    throw new Error(`kumo.make_throttle: the name must be a string, got ${luaType(name)}`);
  if (typeof spec !== 'string') {
    throw new Error(
      `kumo.make_throttle: the spec must be a string such as '10/s', got ${luaType(spec)}`,
    );
  }
  try {
    return [name, parseThrottleSpec(spec)];
  } catch (error) {
    throw new Error(`kumo.make_throttle: ${(error as Error).message}`);
  }
}

const luaType = (value: unknown): string =>
  value === undefined || value === null
    ? 'nil'
    : typeof value === 'object'
      ? 'table'
      : typeof value;

/**
 * `conn:query(cmd, ...)`'s arguments: redis takes strings, and numbers as their text; anything
 * else raises here, naming the command and the argument.
 */
function redisQueryArgs(
  conn: number,
  command: unknown,
  ...args: unknown[]
): [conn: number, command: string, args: (string | number)[]] {
  const name = String(command);
  return [
    conn,
    name,
    args.map((arg, i) => {
      if (typeof arg === 'string' || typeof arg === 'number') return arg;
      throw new Error(
        `redis query ${name}: argument ${i + 1} must be a string or a number, not ${luaType(arg)}`,
      );
    }),
  ];
}

/** `kumo.classify_bounce(response)`: a reply text, or a record's `response` table. */
function bounceResponseArg(response: unknown): [string | Record<string, unknown>] {
  if (typeof response === 'string') return [response];
  const table = fromLua(response);
  if (typeof table === 'object' && table !== null && !Array.isArray(table)) {
    return [table as Record<string, unknown>];
  }
  throw new Error(
    `kumo.classify_bounce: expected a response text or a {code, enhanced_code, content} table, got ${luaType(response)}`,
  );
}

/** A throttle check's answer as Lua reads it: KumoMTA's field names, durations in seconds. */
function throttleTable(result: ThrottleResult) {
  return toLua({
    throttled: result.throttled,
    limit: result.limit,
    remaining: result.remaining,
    reset_after: result.resetAfter,
    retry_after: result.retryAfter,
  });
}

/** The declaration. Grouped by the .lua file that calls them. */
export const HOST_CALLS = {
  // kumo/top-level.lua
  print: daemon<(text: string) => void>({ oneWay: true }),
  log: daemon<(level: LogLevel, text: string) => void>({ oneWay: true }),
  sleep: context<(seconds: number) => Promise<void>>(),
  available_parallelism: context<() => number>(),
  validate: onStack<(kind: MakeKind, params: unknown) => void>(),
  configure: daemon<(kind: ConfigKind, params: ConfigParams[ConfigKind]) => Promise<void>>({
    // Validated here, on the worker, so the daemon gets KumoMTA's defaults and seconds.
    args: (kind: ConfigKind, params: unknown) => [
      kind,
      parseWith(CONFIG_SCHEMAS[kind], fromLua(params), CONFIG_FUNCTIONS[kind]),
    ],
    failure: (kind) => CONFIG_FUNCTIONS[kind],
  }),
  // kumo/memoize.lua (and top-level.lua's kumo.bump_config_epoch)
  now_ms: context<() => number>(),
  duration_seconds: context<(value: unknown, what: string) => number>(),
  config_epoch: context<() => number>(),
  note_config_epoch_bump: context<() => void>(),
  // kumo/serde.lua
  json_encode: context<(value: unknown, pretty: boolean) => string>(),
  json_parse: context<(text: string) => unknown>(),
  serde_parse: context<(format: SerdeFormat, text: string) => unknown>(),
  serde_load: context<(format: SerdeFormat, path: string) => unknown>(),
  serde_encode: context<(format: Exclude<SerdeFormat, 'json'>, value: unknown) => string>(),
  // kumo/string.lua
  eval_template: context<(name: string, source: string, context: unknown) => string>(),
  psl: context<
    (what: 'domain' | 'suffix' | 'domain_known' | 'suffix_known', text: string) => unknown
  >(),
  // kumo/regex.lua
  regex:
    context<
      (op: RegexOp, pattern: string, haystack?: unknown, a?: unknown, b?: unknown) => unknown
    >(),
  // kumo/dns.lua
  dns_lookup_mx: daemon<(domain: string) => Promise<MxTable>>({
    args: dnsName,
    result: toLua,
    failure: (domain) => `kumo.dns.lookup_mx ${domain}`,
  }),
  dns_lookup_addr: daemon<(name: string) => Promise<string[]>>({
    args: dnsName,
    failure: (name) => `kumo.dns.lookup_addr ${name}`,
  }),
  dns_lookup_txt: daemon<(name: string) => Promise<string[]>>({
    args: dnsName,
    failure: (name) => `kumo.dns.lookup_txt ${name}`,
  }),
  dns_lookup_ptr: daemon<(ip: string) => Promise<string[]>>({
    args: dnsName,
    failure: (ip) => `kumo.dns.lookup_ptr ${ip}`,
  }),
  // kumo/tasks.lua
  spawn_task: daemon<(event: string, args: unknown) => void>({
    args: (params: unknown) => spawnTaskArgs(fromLua(params)),
    failure: () => 'kumo.spawn_task',
  }),
  // kumo/throttle.lua (the check runs on the daemon's thread: one state for every context)
  throttle_spec: context<(name: unknown, spec: unknown) => void>(),
  throttle_check: daemon<(name: string, spec: ThrottleSpec) => Promise<ThrottleResult>>({
    args: throttleArgs,
    result: throttleTable,
    failure: (name) => `kumo.make_throttle '${name}'`,
  }),
  msg_delay_by: context<(h: Handle, seconds: number) => void>(),
  // kumo/redis.lua (kumo.redis.open and require 'redis': one pool per distinct params, on the
  // daemon's thread; Lua holds its number)
  redis_open: daemonHost<(params: RedisParams) => Promise<number>>({
    args: (params: unknown) => [parseWith(redisParamsSchema, fromLua(params), 'redis.open')],
    failure: () => 'redis.open',
  }),
  redis_query: daemonHost<
    (conn: number, command: string, args: (string | number)[]) => Promise<unknown>
  >({
    args: redisQueryArgs,
    result: toLua,
    failure: (_conn, command) => `redis query ${command}`,
  }),
  // kumo/amqp.lua (a client's publish waits for the broker's confirmation)
  amqp_build_client: daemonHost<(uri: string) => Promise<number>>({
    args: (uri: unknown) => [String(uri)],
    failure: () => 'kumo.amqp.build_client',
  }),
  amqp_publish: daemonHost<
    (client: number, params: AmqpPublishParams) => Promise<AmqpConfirmation>
  >({
    args: (client: number, params: unknown) => [
      client,
      parseWith(amqpPublishSchema, fromLua(params), 'amqp client:publish'),
    ],
    result: toLua,
    failure: () => 'amqp client:publish',
  }),
  amqp_close: daemonHost<(client: number) => Promise<void>>({
    failure: () => 'amqp client:close',
  }),
  amqp_basic_publish: daemonHost<(params: AmqpBasicPublishParams) => Promise<void>>({
    args: (params: unknown) => [
      parseWith(amqpBasicPublishSchema, fromLua(params), 'kumo.amqp.basic_publish'),
    ],
    failure: () => 'kumo.amqp.basic_publish',
  }),
  // kumo/nats.lua
  nats_connect: daemonHost<(config: NatsConnectParams) => Promise<number>>({
    args: (config: unknown) => [parseWith(natsConnectSchema, fromLua(config), 'kumo.nats.connect')],
    failure: () => 'kumo.nats.connect',
  }),
  nats_publish: daemonHost<(client: number, params: NatsPublishParams) => Promise<void>>({
    args: (client: number, params: unknown) => [
      client,
      parseWith(natsPublishSchema, fromLua(params), 'nats client:publish'),
    ],
    failure: () => 'nats client:publish',
  }),
  nats_close: daemonHost<(client: number) => Promise<void>>({
    failure: () => 'nats client:close',
  }),
  // kumo/bounce.lua (Sterna's own: the daemon holds the classifier init configured)
  classify_bounce: daemonHost<(response: string | Record<string, unknown>) => Promise<string>>({
    args: bounceResponseArg,
    failure: () => 'kumo.classify_bounce',
  }),
  // kumo/uuid.lua
  uuid: context<(kind: string) => string>(),
  uuid_parse: context<(text: string) => string>(),
  // kumo/http.lua
  http_send:
    context<
      (
        method: string,
        url: string,
        headers: unknown,
        body: unknown,
        auth: unknown,
        timeout: unknown,
      ) => Promise<HttpResult>
    >(),
  // kumo/encode.lua, kumo/digest.lua, kumo/secrets.lua (bytes in and out, exactly)
  encode: onStack<(kind: string, bytes: Uint8Array) => string>(),
  decode: onStack<(kind: string, text: string) => Uint8Array>(),
  digest: onStack<(algorithm: string, ...parts: unknown[]) => Uint8Array>(),
  secret: onStack<(source: unknown) => Uint8Array>(),
  // kumo/cidr.lua
  cidr_new: context<() => number>(),
  cidr_get: context<(id: number, key: unknown) => unknown>(),
  cidr_set: context<(id: number, key: unknown, value: unknown) => void>(),
  cidr_free: context<(id: number) => void>(),
  // kumo/dkim.lua
  dkim_signer: context<(kind: DkimKind, params: unknown) => unknown>(),
  msg_dkim_sign: context<(h: Handle, kind: DkimKind, params: unknown) => void>(),
  msg_dkim_verify: context<(h: Handle) => Promise<unknown>>(),
  msg_add_auth_results: context<(h: Handle, serverId: unknown, results: unknown) => void>(),
  // kumo/io.lua (the machine's files and environment)
  getenv: context<(name: string) => string | undefined>(),
  fs_read: onStack<(path: string) => Uint8Array | IoFailure>(),
  fs_write: onStack<(path: string, data: Uint8Array, append: boolean) => true | IoFailure>(),
  // message/message.lua
  msg_id: context<(h: Handle) => string>(),
  msg_sender: context<(h: Handle) => string>(),
  msg_set_sender: context<(h: Handle, sender: string) => void>(),
  msg_recipients: context<(h: Handle) => string[]>(),
  msg_set_recipients: context<(h: Handle, recipients: unknown) => void>(),
  msg_get_meta: onStack<(h: Handle, key: string) => unknown>(),
  msg_set_meta: context<(h: Handle, key: string, value: unknown) => void>(),
  msg_get_data: onStack<(h: Handle) => Uint8Array>(),
  msg_set_data: onStack<(h: Handle, data: Uint8Array) => void>(),
  msg_header: context<(h: Handle, name: string) => string | undefined>(),
  msg_headers: context<(h: Handle, name: string) => string[]>(),
  msg_all_headers: context<(h: Handle) => [string, string][]>(),
  msg_add_header:
    context<(h: Handle, name: string, value: unknown, encode: boolean, prepend: boolean) => void>(),
  msg_remove_headers: context<(h: Handle, name: string) => void>(),
  msg_remove_x_headers: context<(h: Handle, names: unknown) => void>(),
  msg_import_headers: context<(h: Handle, specs: unknown) => void>(),
  msg_import_x_headers: context<(h: Handle, names: unknown, first: boolean) => void>(),
  msg_check_fix_conformance: context<(h: Handle, checks: unknown, fixes: unknown) => unknown>(),
  msg_set_scheduling: context<(h: Handle, params: unknown) => void>(),
  msg_set_due: context<(h: Handle, due: unknown) => void>(),
  msg_header_json: context<(h: Handle, name: string, remove: boolean) => unknown>(),
  msg_address_header: context<(h: Handle, name: string) => unknown>(),
  msg_queue_name: context<(h: Handle) => string>(),
  msg_num_attempts: context<(h: Handle) => number>(),
  msg_increment_num_attempts: context<(h: Handle) => void>(),
} as const;

type Calls = typeof HOST_CALLS;

/** The name of a host call, as Lua calls it (`H.name`). */
export type HostCallName = keyof Calls;
/** The host calls the Lua worker runs itself. */
export type ContextCallName = {
  [K in HostCallName]: Calls[K]['runs'] extends 'context' ? K : never;
}[HostCallName];
/** The host calls answered on the daemon's thread. */
export type DaemonCallName = Exclude<HostCallName, ContextCallName>;
/** The daemon calls the policy runtime answers itself (pool/daemon-handlers.ts). */
export type RuntimeCallName = {
  [K in DaemonCallName]: Calls[K] extends { readonly answeredBy: 'runtime' } ? K : never;
}[DaemonCallName];

/** The declared function type of host call `K`. */
export type DeclaredType<K extends HostCallName> = Exclude<Calls[K]['type'], undefined>;

/** A host call implemented on the Lua stack (wasmoon's `decorateFunction`). */
export type StackFunction = ReturnType<typeof decorateFunction>;

/**
 * What the worker must implement: one function per `context` entry, of its declared type, or a
 * {@link StackFunction} for `onStack` entries.
 */
export type ContextImplementations = {
  readonly [K in ContextCallName]: Calls[K] extends { readonly stack: true }
    ? StackFunction
    : DeclaredType<K>;
};

/** The worker → daemon request map: one operation per `daemon` entry, as declared. */
export type DaemonCalls = { readonly [K in DaemonCallName]: DeclaredType<K> };
/** The arguments of daemon call `K`, as the daemon receives them. */
export type DaemonArgs<K extends DaemonCallName> = Parameters<DaemonCalls[K]>;
/** The answer of daemon call `K`. */
export type DaemonResult<K extends DaemonCallName> = Awaited<ReturnType<DaemonCalls[K]>>;
/** One handler per daemon call, as the daemon's thread answers them. */
export type DaemonHandlers = Handlers<DaemonCalls>;
/** The handlers the policy runtime has itself: one per `daemon()` entry, none for `daemonHost()`. */
export type RuntimeHandlers = Pick<DaemonHandlers, RuntimeCallName>;
