import {
  type BridgeHandler,
  type DisconnectMode,
  MULTIPLE_EVENTS,
  PolicyRejection,
  policyBridge,
} from '@sterna/lua';
import type { PolicyEvents } from './event-types.js';

/**
 * An event name of the policy's own: any string but the names of {@link PolicyEvents}, so a
 * handler for a fired event is always checked against its typed signature (the untyped
 * overload would otherwise accept any function for it).
 */
export type OwnEventName<E extends string> = E & (E extends keyof PolicyEvents ? never : unknown);

/** Where each registered handler came from, for the "already has a handler" error. */
const origins = new WeakMap<BridgeHandler, string>();

/**
 * Registers a handler for a KumoMTA event (`kumo.on(name, fn)`), by the same name. Most events
 * take one handler; `get_queue_config`, `should_enqueue_log_record`, `throttle_insert_ready_queue`,
 * `pre_init`, `validate_config`, `requeue_message` and `get_acl_definition` take several, run in
 * order until one returns a value. Any other name is an event of the policy's own (a
 * `custom_lua` constructor, a `kumo.spawn_task` event).
 *
 * @throws Error when called from inside a handler, or for a second handler of a one-handler event.
 */
export function on<E extends keyof PolicyEvents>(event: E, handler: PolicyEvents[E]): void;
export function on<E extends string>(event: OwnEventName<E>, handler: BridgeHandler): void;
export function on(event: string, handler: BridgeHandler): void {
  if (typeof event !== 'string' || event === '') {
    throw new TypeError('on: the event name must be a non-empty string');
  }
  if (typeof handler !== 'function') {
    throw new TypeError(`on: the handler for ${event} must be a function`);
  }
  const bridge = policyBridge();
  if (bridge.depth > 0) {
    throw new Error(`on: cannot register a handler for ${event} from inside an event handler`);
  }
  const list = bridge.handlers.get(event);
  origins.set(handler, callerOf(new Error().stack));
  if (list === undefined) bridge.handlers.set(event, [handler]);
  else if (MULTIPLE_EVENTS.has(event)) list.push(handler);
  else {
    const first = list[0] ? origins.get(list[0]) : undefined;
    throw new Error(`${event} event already has a handler${first ? ` defined at ${first}` : ''}`);
  }
}

/**
 * Refuses what the handler is deciding on with an SMTP reply (`kumo.reject`): a 4xx code is a
 * temporary failure (retried), a 5xx a permanent one (bounced, or refused at the listener).
 */
export function reject(code: number, text: string): never {
  if (!Number.isInteger(code)) throw new TypeError('reject: code must be an integer');
  throw new PolicyRejection(code, String(text ?? ''));
}

/**
 * Rejects and closes the SMTP connection (`kumo.disconnect`): `how` as KumoMTA's
 * (`'ForceDisconnect'` by default).
 */
export function disconnect(
  code: number,
  text: string,
  how: DisconnectMode = 'ForceDisconnect',
): never {
  if (!Number.isInteger(code)) throw new TypeError('disconnect: code must be an integer');
  throw new PolicyRejection(code, String(text ?? ''), how);
}

export { PolicyRejection };

// The first stack frame outside this module: where `on()` was called.
function callerOf(stack: string | undefined): string {
  const lines = (stack ?? '').split('\n').slice(1);
  const frame = lines.find((l) => !l.includes('/policy/src/events.') && !l.includes('/events.js'));
  return frame?.trim().replace(/^at\s+/, '') ?? 'unknown';
}
