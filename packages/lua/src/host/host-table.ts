import { errorText } from '@sterna/core';
import type { ContextHost } from './context-host.js';
import type { HostCall } from './host-call-kinds.js';
import {
  type ContextImplementations,
  type DaemonCallName,
  HOST_CALLS,
  type HostCallName,
} from './host-calls.js';

/** `V` with no member `T` does not declare (an extra one types as `never`). */
export type Exactly<T, V extends T> = V & { readonly [K in Exclude<keyof V, keyof T>]: never };

/**
 * The table of host functions a Lua context gets (`H` in its .lua files), built by iterating
 * the declaration: `context` entries are the worker's implementations, `daemon` entries
 * forward to `host`. A missing implementation, or one the declaration does not name, is a
 * type error.
 */
export function hostTable<V extends ContextImplementations>(
  implementations: Exactly<ContextImplementations, V>,
  host: ContextHost,
): Record<HostCallName, unknown> {
  const table: Record<string, unknown> = {};
  for (const [name, call] of Object.entries(HOST_CALLS) as [HostCallName, HostCall][]) {
    table[name] =
      call.runs === 'context'
        ? implementations[name as keyof ContextImplementations]
        : forwarder(name as DaemonCallName, call as unknown as Forwarded, host as Untyped);
  }
  return table as Record<HostCallName, unknown>;
}

/** A `daemon` entry as the forwarder runs it: its types erased (the declaration checked them). */
interface Forwarded {
  readonly oneWay: boolean;
  readonly args?: ((...lua: unknown[]) => unknown[]) | undefined;
  readonly result?: ((value: unknown) => unknown) | undefined;
  readonly failure?: ((...args: unknown[]) => string) | undefined;
}

/** `host` with its types erased, for the same reason. */
interface Untyped {
  ask(name: string, args: unknown[]): Promise<unknown>;
  tell(name: string, args: unknown[]): void;
}

/**
 * A daemon call as Lua calls it: arguments prepared on the worker, the request posted, the
 * answer (a promise Lua awaits) or the failure as a plain string, the way Lua errors look.
 */
function forwarder(name: DaemonCallName, call: Forwarded, host: Untyped) {
  const { args: prepare, result, failure } = call;
  if (call.oneWay) {
    return (...lua: unknown[]) => {
      host.tell(name, prepare ? prepare(...lua) : lua);
    };
  }
  return (...lua: unknown[]) => {
    let args: unknown[];
    try {
      args = prepare ? prepare(...lua) : lua;
    } catch (error) {
      throw errorText(error);
    }
    const failed = (error: unknown) => {
      const why = errorText(error);
      throw failure ? `${failure(...args)}: ${why}` : why;
    };
    const sent = host.ask(name, args);
    return result ? sent.then(result, failed) : sent.catch(failed);
  };
}
