import type { DriverContext } from './context.js';
import type { EgressPathConfig } from './egress-path.js';
import type { EgressSource } from './egress-source.js';
import { SternaError } from './errors.js';
import type { Message } from './message.js';
import type { DeliveryFailure, Outcome } from './outcome.js';
import type { OptionsSchema } from './schema.js';

/** The version of this contract. A driver built for another version is refused. */
export const DRIVER_API_VERSION = 1 as const;

const BRAND: unique symbol = Symbol.for('sterna.protocol-driver');

/**
 * What a driver can do, as data: the queue engine and the testkit both read it.
 */
export interface DriverCapabilities {
  /** One connection carries many messages, one after another. */
  readonly reusesConnections: boolean;
  /** One `send` carries a message for several recipients and answers per recipient. */
  readonly multiRecipient: boolean;
  /** Connections may implement `sendBatch` (several messages in one call). */
  readonly batching: boolean;
  /**
   * Messages wait in ready queues per site, under `connection_limit`. When false (maildir),
   * the scheduled queue delivers inline and records log `site: ""`.
   */
  readonly readyQueue: boolean;
}

/** The scheduled queue a delivery is for: the arguments of `get_queue_config`. */
export interface DeliveryTarget {
  /** The scheduled queue name. */
  readonly queue: string;
  readonly domain: string;
  readonly tenant?: string | undefined;
  readonly campaign?: string | undefined;
  /** The domain whose MX is used (meta `routing_domain`), when set. */
  readonly routingDomain?: string | undefined;
}

/**
 * Where messages go. Messages whose sites have the same `name` and `service` share a ready queue
 * and its connections (`<source>-><name>@<service>`).
 */
export interface Site {
  readonly name: string;
  /** The service part of the ready queue name: `smtp_client`, `lua:make.webhook`, `maildir`. */
  readonly service: string;
  /** Private to the driver: a resolved MX plan, a path, a constructor name. */
  readonly plan?: unknown;
  /**
   * With `capabilities.batching`: how the engine groups messages for `sendBatch`. It hands over
   * up to `maxSize` messages, waiting up to `maxLatency` seconds to gather `minSize`.
   * Without it (or with `maxSize` 1) messages go one by one through `send`.
   */
  readonly batch?: SiteBatching | undefined;
}

/** How a site takes messages in batches. */
export interface SiteBatching {
  readonly maxSize: number;
  readonly minSize: number;
  /** Seconds. */
  readonly maxLatency: number;
}

/** A site, or the reason no site could be named (NXDOMAIN, null MX). */
export type SiteResolution = { readonly site: Site } | { readonly failure: DeliveryFailure };

/** Per-call options for a connection. */
export interface SendOptions {
  /** Aborted when the attempt must stop (watchdog, shutdown). */
  readonly signal: AbortSignal;
}

/**
 * An open connection to a site. Expected failures come back as outcomes; a throw means a bug or
 * broken infrastructure and is turned into a transient failure by the engine.
 */
export interface Connection {
  /** Delivers one message; one outcome per recipient of the message. */
  send(message: Message, options: SendOptions): Promise<Outcome[]>;
  /** With `capabilities.batching`: delivers several messages; one outcome list per message. */
  sendBatch?(messages: readonly Message[], options: SendOptions): Promise<Outcome[][]>;
  /** False once the connection can take no more work (a 421, a dropped socket). */
  isUsable?(): boolean;
  /** Ends the connection. Must be safe to call more than once. */
  close(): Promise<void>;
}

/** What a driver author writes; {@link defineProtocolDriver} turns it into a driver. */
export interface ProtocolDriverSpec<Options> {
  /** The key the driver claims in a policy's `protocol` table: `smtp`, `maildir_path`, `lmtp`. */
  readonly protocol: string;
  /** The log record's `delivery_protocol`: `ESMTP`, `Maildir`, `Lua`, `LMTP`. */
  readonly deliveryProtocol: string;
  /** The package that provides the driver, for error messages. */
  readonly packageName?: string;
  /** Validates the whole `protocol` table (e.g. `{ smtp = { mx_list = … } }`). */
  readonly options: OptionsSchema<Options>;
  readonly capabilities: DriverCapabilities;
  /** Names the site a queue's messages go to. May use DNS through the context. */
  site(
    options: Options,
    target: DeliveryTarget,
    ctx: DriverContext,
  ): SiteResolution | Promise<SiteResolution>;
  /**
   * Opens a connection to a site, or says why none could be opened. `path` is the ready queue's
   * egress path (`get_egress_path_config`): ports, TLS, timeouts, prohibited hosts. `source` is
   * the ready queue's egress source (`get_egress_source`): the address to bind, the EHLO name
   * when the path names none, a port override. The engine always passes it (the `unspecified`
   * source, which sets nothing, when the queue names no pool); callers outside the engine may
   * leave it out, which means the same.
   */
  connect(
    site: Site,
    options: Options,
    ctx: DriverContext,
    path: EgressPathConfig,
    source?: EgressSource,
  ): Promise<Connection | DeliveryFailure>;
}

/** A protocol driver, as registered with the engine. */
export interface ProtocolDriver<Options = unknown> extends ProtocolDriverSpec<Options> {
  readonly apiVersion: typeof DRIVER_API_VERSION;
  readonly [BRAND]: true;
}

/** Any driver, whatever its options. */
// biome-ignore lint/suspicious/noExplicitAny: a registry holds drivers of every option type
export type AnyProtocolDriver = ProtocolDriver<any>;

const PROTOCOL_KEY = /^[a-z][a-z0-9_]*$/;

/**
 * Defines a protocol driver: checks the spec, stamps the contract version and a brand the
 * registry looks for, and freezes the result.
 */
export function defineProtocolDriver<Options>(
  spec: ProtocolDriverSpec<Options>,
): ProtocolDriver<Options> {
  if (typeof spec.protocol !== 'string' || !PROTOCOL_KEY.test(spec.protocol)) {
    throw new SternaError(
      'STERNA_DRIVER_INVALID',
      `protocol key ${JSON.stringify(spec.protocol)} must be lowercase letters, digits and _ (like 'smtp' or 'maildir_path')`,
    );
  }
  if (typeof spec.options?.['~standard']?.validate !== 'function') {
    throw new SternaError(
      'STERNA_DRIVER_INVALID',
      `driver '${spec.protocol}': options must be a Standard Schema (zod, valibot, …)`,
    );
  }
  for (const fn of ['site', 'connect'] as const) {
    if (typeof spec[fn] !== 'function') {
      throw new SternaError(
        'STERNA_DRIVER_INVALID',
        `driver '${spec.protocol}': ${fn} must be a function`,
      );
    }
  }
  return Object.freeze({
    ...spec,
    capabilities: Object.freeze({ ...spec.capabilities }),
    apiVersion: DRIVER_API_VERSION,
    [BRAND]: true as const,
  });
}

/** True for an object made by {@link defineProtocolDriver} (any version). */
export function isProtocolDriver(value: unknown): value is AnyProtocolDriver {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[BRAND] === true
  );
}
