/**
 * The contract between a policy written in TypeScript or JavaScript and the runtime that runs
 * it. `@sterna/policy` (what a policy imports) registers handlers and makes host calls through
 * the bridge; the JS context of a pool worker (this package) installs the host and dispatches
 * events to the handlers. Both find one bridge on `globalThis` under a registered symbol, so a
 * policy that resolves its own copy of `@sterna/policy` still meets the worker's.
 * @module
 */
import type { ContextHost } from '../host/context-host.js';
import type { DisconnectMode } from '../shared/errors.js';

/** A handler as `on(event, handler)` registers it. */
// biome-ignore lint/suspicious/noExplicitAny: handlers of every event shape share one registry.
export type BridgeHandler = (...args: any[]) => unknown;

/** The shared state on `globalThis[BRIDGE_KEY]`. */
export interface PolicyBridge {
  /** Event name → its handlers, in registration order. */
  readonly handlers: Map<string, BridgeHandler[]>;
  /**
   * The daemon, as a host-call channel: set by the JS context before the policy module is
   * imported; set by `@sterna/policy/testing` in unit tests; `undefined` when neither runs
   * (a configuration call then fails, naming the function).
   */
  host: ContextHost | undefined;
  /** Handlers running now; `on()` refuses to register while it is above 0. */
  depth: number;
  /**
   * Configuration calls (`startEsmtpListener`, …) not settled yet, and the failures of those
   * that failed: a handler's call waits for them before it ends and fails with the first
   * failure, so a call made without `await` still fails `init` (see {@link settleConfiguration}).
   */
  readonly configuring: Set<Promise<unknown>>;
  readonly configureFailures: unknown[];
}

/** The registered symbol the bridge lives under. */
export const BRIDGE_KEY: unique symbol = Symbol.for('sterna.policy.bridge') as never;

/**
 * The events that may have more than one handler (each runs in order until one returns a
 * value other than `undefined`), as in KumoMTA. Any other event takes one handler; a second
 * `on()` for it is an error naming where the first came from.
 */
export const MULTIPLE_EVENTS: ReadonlySet<string> = new Set([
  'get_queue_config',
  'should_enqueue_log_record',
  'requeue_message',
  'throttle_insert_ready_queue',
  'get_acl_definition',
  'pre_init',
  'validate_config',
]);

/** The bridge of this thread, made on first use. */
export function policyBridge(): PolicyBridge {
  const g = globalThis as { [BRIDGE_KEY]?: PolicyBridge };
  g[BRIDGE_KEY] ??= {
    handlers: new Map(),
    host: undefined,
    depth: 0,
    configuring: new Set(),
    configureFailures: [],
  };
  return g[BRIDGE_KEY];
}

/**
 * Keeps track of a configuration call (what `@sterna/policy`'s configuration functions return),
 * for {@link settleConfiguration}. Returns `done` itself.
 */
export function trackConfiguration<T>(done: Promise<T>): Promise<T> {
  const bridge = policyBridge();
  bridge.configuring.add(done);
  done.then(
    () => bridge.configuring.delete(done),
    (error: unknown) => {
      bridge.configuring.delete(done);
      bridge.configureFailures.push(error);
    },
  );
  return done;
}

/**
 * Waits for the configuration calls still running, then takes the failures recorded: the first
 * one, if any (the runtime fails the handler's call with it), or `undefined`. A handler that
 * awaited the call and caught its error gets the same error here: configuration mistakes are
 * never meant to be survived.
 */
export async function settleConfiguration(): Promise<unknown> {
  const bridge = policyBridge();
  while (bridge.configuring.size > 0) await Promise.allSettled([...bridge.configuring]);
  const [first] = bridge.configureFailures.splice(0);
  return first;
}

const REJECTION_BRAND = Symbol.for('sterna.policy.rejection');

/**
 * `reject(code, text)` (KumoMTA's `kumo.reject`) and `disconnect(code, text, how)`, as thrown
 * by a handler. Recognised by a registered brand, not by class identity (see the module doc).
 */
export class PolicyRejection extends Error {
  readonly [REJECTION_BRAND] = true;
  constructor(
    readonly code: number,
    readonly text: string,
    readonly disconnect?: DisconnectMode | undefined,
  ) {
    super(`${code} ${text}`);
    this.name = 'PolicyRejection';
  }
}

/** The rejection `error` carries, if it is one (from any copy of this module). */
export function rejectionOf(
  error: unknown,
): { code: number; text: string; disconnect?: DisconnectMode | undefined } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { [REJECTION_BRAND]?: unknown; code?: unknown; text?: unknown };
  if (e[REJECTION_BRAND] !== true || typeof e.code !== 'number') return undefined;
  const disconnect = (error as { disconnect?: DisconnectMode }).disconnect;
  return { code: e.code, text: String(e.text ?? ''), disconnect };
}
