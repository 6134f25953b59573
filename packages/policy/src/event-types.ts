/**
 * The events Sterna fires, by KumoMTA's names, with the arguments a TypeScript handler receives
 * and what it may return. `on(name, handler)` checks a handler against this map, so a handler
 * with the wrong parameter types, or one returning something the daemon cannot use, is a
 * compile error. Any other name is an event of the policy's own (a `custom_lua` constructor,
 * a `filter_event` of `configureLocalLogs`, a `spawnTask` event) and takes any handler.
 *
 * Events KumoMTA has that the daemon does not fire yet (`requeue_message`,
 * `smtp_server_rewrite_response`, …) are left out of the map on purpose: a handler for one of
 * them would never run. They can still be registered by name, untyped.
 * @module
 */
import type { ConnectionMeta, EnvelopeAddress, Message } from '@sterna/lua';
import type {
  EgressPathParams,
  EgressPoolParams,
  EgressSourceParams,
  ListenerDomainParams,
  QueueConfigParams,
} from './builders.js';

/** A handler's result: the value, or a promise of it (handlers may be async). */
export type Awaitable<T> = T | Promise<T>;

/**
 * An answer a handler may leave out: the value, `undefined`, or nothing at all (a handler with
 * no `return` on some path, whose type is `void`).
 */
// biome-ignore lint/suspicious/noConfusingVoidType: `void` lets a handler that returns nothing type-check.
export type Optional<T> = T | undefined | void;

/**
 * Who made an HTTP injection request (KumoMTA's `AuthInfo`): the peer's address, the
 * identities it proved (`{ identity: 'user', context: 'HttpBasicAuth' }`) and its groups
 * (`'kumomta:http-listener-trusted-ip'` for a peer in `trusted_hosts`).
 */
export interface HttpAuthInfo {
  readonly peer_address: string | null;
  readonly identities: readonly { readonly identity: string; readonly context: string }[];
  readonly groups: readonly string[];
}

/**
 * Every event the daemon fires, name → handler type. The argument names are KumoMTA's (in
 * camelCase); the value types are what the JS engine passes.
 */
export interface PolicyEvents {
  /**
   * Before `init`, once per policy load (at start and at each reload). Several handlers may be
   * registered; they run in order. Helpers use it to read their data files.
   */
  pre_init: () => Awaitable<void>;

  /**
   * At start: where the configuration calls go (`startEsmtpListener`, `defineSpool`,
   * `configureLocalLogs`, …). Returns nothing.
   */
  init: () => Awaitable<void>;

  /**
   * Fired by `sterna --validate` after `init`, never when the daemon starts for real: a
   * handler checks the policy's data and calls `validationFailed()` to fail the check.
   * Several handlers may be registered.
   */
  validate_config: () => Awaitable<void>;

  /**
   * When a scheduled queue is made (and again each `refresh_interval`): the queue's
   * configuration from `makeQueueConfig`, or `undefined` to leave it to the next handler
   * (several may be registered; the first answer wins) and, after the last, to KumoMTA's
   * defaults. `tenant`, `campaign` and `routingDomain` are `undefined` when the queue name has
   * none.
   */
  get_queue_config: (
    domain: string,
    tenant: string | undefined,
    campaign: string | undefined,
    routingDomain: string | undefined,
  ) => Awaitable<Optional<QueueConfigParams>>;

  /**
   * When a message moves to a ready queue and its queue config names an `egress_pool` (other
   * than `unspecified`): the pool, from `makeEgressPool`. Kept for the pool's `ttl`. A failure
   * leaves the message queued with a 451.
   */
  get_egress_pool: (poolName: string) => Awaitable<EgressPoolParams>;

  /**
   * For the source picked from the pool (never for `unspecified`): the source, from
   * `makeEgressSource`. Kept for the source's `ttl`.
   */
  get_egress_source: (sourceName: string) => Awaitable<EgressSourceParams>;

  /**
   * When a ready queue is made, for the (routing domain, egress source, MX site) it sends to:
   * the path's settings from `makeEgressPath`, or `undefined` for the defaults.
   */
  get_egress_path_config: (
    routingDomain: string,
    egressSource: string,
    siteName: string,
  ) => Awaitable<Optional<EgressPathParams>>;

  /**
   * At `RCPT TO` (and for the sender's domain at `MAIL FROM`): whether the listener relays
   * for `domain`, from `makeListenerDomain`; `undefined` when it has nothing to say.
   */
  get_listener_domain: (
    domain: string,
    listener: string,
    connMeta: ConnectionMeta,
  ) => Awaitable<Optional<ListenerDomainParams>>;

  /**
   * When an SMTP client connects, before the banner. `reject(code, text)` (or `disconnect`)
   * refuses the connection with that reply.
   */
  smtp_server_connection_accepted: (connMeta: ConnectionMeta) => Awaitable<void>;

  /**
   * At `EHLO` / `HELO`. `extensions` is what the `250` reply would advertise; a returned list
   * replaces it (what is advertised, not what is implemented). `reject` refuses the command.
   */
  smtp_server_ehlo: (
    domain: string,
    connMeta: ConnectionMeta,
    extensions: string[],
  ) => Awaitable<Optional<readonly string[]>>;

  /**
   * At `AUTH PLAIN` (offered after STARTTLS only when a handler exists): `true` authenticates
   * the client, anything else refuses it with `535 5.7.8`. An empty `authz` is `authc`.
   */
  smtp_server_auth_plain: (
    authz: string,
    authc: string,
    password: string,
    connMeta: ConnectionMeta,
  ) => Awaitable<boolean>;

  /** At `MAIL FROM`: `reject` refuses the sender. */
  smtp_server_mail_from: (sender: EnvelopeAddress, connMeta: ConnectionMeta) => Awaitable<void>;

  /** At each `RCPT TO`: `reject` refuses the recipient. */
  smtp_server_rcpt_to: (recipient: EnvelopeAddress, connMeta: ConnectionMeta) => Awaitable<void>;

  /**
   * Once per SMTP transaction after the final dot, before the message is split per recipient:
   * the message has every recipient. Changes carry into every copy; `reject` refuses the whole
   * transaction.
   */
  smtp_server_data: (message: Message, connMeta: ConnectionMeta) => Awaitable<void>;

  /**
   * For each message received over SMTP (one per recipient), before it is spooled: where a
   * policy sets meta (`tenant`, `campaign`, `queue`…), headers or DKIM. `reject` refuses it.
   */
  smtp_server_message_received: (message: Message, connMeta: ConnectionMeta) => Awaitable<void>;

  /** For each message made by the HTTP injection API, before it is spooled. */
  http_message_generated: (message: Message, authInfo: HttpAuthInfo) => Awaitable<void>;

  /** For HTTP Basic credentials: `true` accepts them. */
  http_server_validate_auth_basic: (user: string, password: string) => Awaitable<boolean>;

  /**
   * For each log record offered to the log hook `hookName` (`configureLogHook`): the message
   * carries the record (its data is the record's JSON, meta `log_record`); `true` queues it
   * for delivery (to the queue its meta names). Several handlers may be registered; the first
   * answer other than `undefined` wins.
   */
  should_enqueue_log_record: (message: Message, hookName: string) => Awaitable<Optional<boolean>>;

  /**
   * For each message matched by the admin rebind API with `trigger_rebind_event`: the meta,
   * sender and recipients it leaves decide the message's new queue. `data` is the request's.
   */
  rebind_message: (message: Message, data: Readonly<Record<string, string>>) => Awaitable<void>;

  /**
   * As a message moves from its scheduled queue to a ready queue: a due time set in the future
   * (`throttle.delayMessageIfThrottled(msg)`) holds it until then. Several handlers may be
   * registered.
   */
  throttle_insert_ready_queue: (message: Message) => Awaitable<void>;

  /**
   * Sterna's own, answered by the shaping helper of `@sterna/policy/extras`: the automation
   * rules it read, which the daemon asks again after each configuration reload (and parses as
   * it parses `configureShapingAutomation`'s).
   */
  'sterna.shaping_automation_rules': () => Awaitable<readonly unknown[]>;
}

/** The name of an event the daemon fires. */
export type PolicyEventName = keyof PolicyEvents;
