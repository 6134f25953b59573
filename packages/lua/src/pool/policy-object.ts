import type { PolicyObject } from '@sterna/core';
import type { CallOutcome } from '../context/lua-context.js';
import { restoreUnchangedData } from '../message/message-snapshot.js';
import { luaError } from '../shared/errors.js';
import { applyBack, marshalArgs, settle } from './marshal.js';
import type { WorkRequest } from './worker-protocol.js';
import type { WorkerSlot } from './worker-slot.js';

/** What an object needs from the pool that made it: work run on the context holding it. */
export interface ObjectRunner {
  /** Runs `work` on `slot` with the method deadline; rejects once the pool is closed. */
  runOn(slot: WorkerSlot, work: WorkRequest, label: string): Promise<CallOutcome>;
}

/**
 * An object a constructor event returned (a `custom_lua` connection), kept in the Lua registry
 * of the context that made it. Methods run in that same context; if it was terminated, calls
 * fail with `STERNA_LUA_CONTEXT_LOST`.
 */
export class LuaPolicyObject implements PolicyObject {
  private released = false;
  private readonly methods: ReadonlySet<string>;

  constructor(
    private readonly runtime: ObjectRunner,
    private readonly slot: WorkerSlot,
    private readonly id: number,
    private readonly event: string,
    methods: readonly string[],
  ) {
    this.methods = new Set(methods);
  }

  has(method: string): boolean {
    return this.methods.has(method);
  }

  async call(
    method: string,
    args: readonly unknown[],
    options: { signal?: AbortSignal } = {},
  ): Promise<unknown> {
    const label = `${this.event}:${method}`;
    if (this.released)
      throw luaError('STERNA_LUA_CONTEXT_LOST', `${label}: the object was released`);
    if (this.slot.gone !== undefined) {
      throw luaError('STERNA_LUA_CONTEXT_LOST', `${label}: ${this.slot.gone}`);
    }
    options.signal?.throwIfAborted();
    const sent = marshalArgs(args);
    const work = this.runtime.runOn(
      this.slot,
      { kind: 'method', object: this.id, method, args: sent },
      label,
    );
    const outcome = await abortable(work, options.signal);
    if (outcome.status === 'none') {
      throw luaError(
        'STERNA_LUA_NO_HANDLER',
        `the object made by ${this.event} has no method ${method}`,
      );
    }
    const ok = settle(outcome, label);
    restoreUnchangedData(sent, ok.messages);
    applyBack(args, ok.messages);
    return ok.values[0];
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.slot.gone !== undefined) return;
    try {
      await this.runtime.runOn(
        this.slot,
        { kind: 'release', object: this.id },
        `${this.event}:release`,
      );
    } catch {
      // The context went away: the object went with it.
    } finally {
      // A context a reload retired is closed once its last object is released.
      this.slot.dropObject();
    }
  }
}

function abortable(
  work: Promise<CallOutcome>,
  signal: AbortSignal | undefined,
): Promise<CallOutcome> {
  if (!signal) return work;
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
