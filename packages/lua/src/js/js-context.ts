import { errorText } from '@sterna/core';
import type { CallOutcome, ContextStats, PolicyContext } from '../context/policy-context.js';
import type { ContextHost } from '../host/context-host.js';
import { type BridgeHandler, policyBridge, rejectionOf, settleConfiguration } from './bridge.js';
import { CallScope } from './call-scope.js';
import { describeLoadError, importPolicy } from './load-module.js';

const TIMEOUT = Symbol('timeout');

/** Waits for `work` until `deadline` (epoch ms); {@link TIMEOUT} when the deadline won. */
async function before<T>(work: Promise<T>, deadline: number): Promise<T | typeof TIMEOUT> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<typeof TIMEOUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMEOUT), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a list of handlers as KumoMTA does: in order, until one returns a value. */
async function runList(list: readonly BridgeHandler[], args: readonly unknown[]): Promise<unknown> {
  let result: unknown;
  for (const handler of list) {
    result = await handler(...args);
    if (result !== undefined && result !== null) return result;
  }
  return result;
}

/** The outcome of a handler's throw: a `reject(…)`/`disconnect(…)`, or an error. */
function thrown(error: unknown): CallOutcome {
  const rejection = rejectionOf(error);
  if (rejection) {
    return rejection.disconnect === undefined
      ? { status: 'reject', code: rejection.code, text: rejection.text }
      : { status: 'reject', ...rejection };
  }
  return {
    status: 'error',
    message: errorText(error),
    traceback: error instanceof Error ? error.stack : undefined,
  };
}

/**
 * A TypeScript or JavaScript policy in a pool worker: the module imported once, its handlers
 * (registered on the {@link policyBridge} by `@sterna/policy`'s `on`) called as the Lua
 * dispatcher calls a Lua policy's — the same outcomes, the same message objects over the same
 * message state, the same marshalling. A deadline ends the wait for a handler (an async one
 * that never settles); a synchronous endless loop blocks the thread and is the pool's to end
 * (it terminates the worker).
 */
export class JsContext implements PolicyContext {
  readonly broken = false;
  private readonly objects = new Map<number, object>();
  private nextObject = 1;
  /** Message objects of calls in progress. */
  private open = 0;

  constructor(private readonly host: ContextHost) {}

  async load(path: string, deadline: number): Promise<CallOutcome> {
    const bridge = policyBridge();
    bridge.host = this.host;
    const loading = importPolicy(path);
    try {
      const done = await before(loading, deadline);
      if (done === TIMEOUT) return { status: 'timeout', where: path };
      return { status: 'ok', values: [], messages: [] };
    } catch (error) {
      return { status: 'error', message: describeLoadError(error, path) };
    }
  }

  async events(): Promise<string[]> {
    const names: string[] = [];
    for (const [name, list] of policyBridge().handlers) if (list.length > 0) names.push(name);
    return names;
  }

  call(event: string, args: readonly unknown[], deadline: number): Promise<CallOutcome> {
    const list = policyBridge().handlers.get(event);
    if (!list || list.length === 0) return Promise.resolve({ status: 'none' });
    return this.run(event, args, deadline, (wrapped) => withConfiguration(runList(list, wrapped)));
  }

  async construct(event: string, args: readonly unknown[], deadline: number): Promise<CallOutcome> {
    const list = policyBridge().handlers.get(event);
    if (!list || list.length === 0) return { status: 'none' };
    const bridge = policyBridge();
    bridge.depth++;
    const working = runList(list, args).finally(() => bridge.depth--);
    let made: unknown;
    try {
      made = await before(working, deadline);
    } catch (error) {
      return thrown(error);
    }
    if (made === TIMEOUT || Date.now() > deadline) return { status: 'timeout' };
    if (made === undefined || made === null) {
      return {
        status: 'error',
        message: `${event} returned nothing instead of a connection object`,
      };
    }
    if (typeof made !== 'object' && typeof made !== 'function') {
      return {
        status: 'error',
        message: `${event} returned a ${typeof made} instead of a connection object`,
      };
    }
    const id = this.nextObject++;
    this.objects.set(id, made);
    return { status: 'ok', values: [id, methodNames(made)], messages: [] };
  }

  async callMethod(
    id: number,
    method: string,
    args: readonly unknown[],
    deadline: number,
  ): Promise<CallOutcome> {
    const object = this.objects.get(id);
    if (object === undefined) return { status: 'gone' };
    const fn = (object as Record<string, unknown>)[method];
    if (typeof fn !== 'function') return { status: 'none' };
    return this.run(`${method}`, args, deadline, (wrapped) => fn.apply(object, wrapped));
  }

  async release(id: number): Promise<void> {
    this.objects.delete(id);
  }

  async collect(): Promise<void> {
    // Nothing of its own to free: the worker runs V8's collector.
  }

  stats(): ContextStats {
    return { luaBytes: 0, wasmBytes: 0, stackTop: 0, messages: this.open };
  }

  /** Runs handler code over the call's objects, under the deadline, into an outcome. */
  private async run(
    label: string,
    args: readonly unknown[],
    deadline: number,
    body: (args: unknown[]) => unknown,
  ): Promise<CallOutcome> {
    const scope = new CallScope();
    const bridge = policyBridge();
    bridge.depth++;
    let working: Promise<unknown>;
    try {
      const wrapped = scope.wrap(args);
      this.open += scope.size;
      working = Promise.resolve(body(wrapped));
    } catch (error) {
      working = Promise.reject(error);
    }
    working = working.finally(() => {
      bridge.depth--;
    });
    try {
      const result = await before(working, deadline);
      if (result === TIMEOUT || Date.now() > deadline) return { status: 'timeout' };
      const values = result === undefined || result === null ? [] : [result];
      let cloned: unknown[];
      try {
        cloned = structuredClone(values);
      } catch (error) {
        return {
          status: 'error',
          message: `${label} returned a value that cannot leave the policy (it must be data): ${errorText(error)}`,
        };
      }
      const { messages, connMeta } = scope.changes();
      return connMeta === undefined
        ? { status: 'ok', values: cloned, messages }
        : { status: 'ok', values: cloned, messages, connMeta };
    } catch (error) {
      return thrown(error);
    } finally {
      this.open -= scope.size;
      scope.close();
    }
  }
}

/**
 * The methods a constructed object offers: its own and its prototype chain's functions, short
 * of `Object.prototype` (and never `constructor`).
 */
export function methodNames(object: object): string[] {
  const names = new Set<string>();
  for (let o: object | null = object; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    if (o === Function.prototype) break;
    for (const key of Object.getOwnPropertyNames(o)) {
      if (key === 'constructor' || names.has(key)) continue;
      const descriptor = Object.getOwnPropertyDescriptor(o, key);
      if (typeof descriptor?.value === 'function') names.add(key);
    }
  }
  return [...names];
}

/**
 * A handler's result once the configuration calls it made have settled: a failed one fails the
 * call, whether the handler awaited it or not.
 */
async function withConfiguration<T>(working: Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await working;
  } catch (error) {
    await settleConfiguration();
    throw error;
  }
  const failure = await settleConfiguration();
  if (failure !== undefined) throw failure;
  return result;
}
