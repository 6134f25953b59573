import type { MessageSnapshot } from '../message/message-snapshot.js';
import type { DisconnectMode } from '../shared/errors.js';

/** How a call into the policy ended. Plain data: it crosses the worker boundary as is. */
export type CallOutcome =
  | {
      readonly status: 'ok';
      readonly values: unknown[];
      /**
       * For each message passed (in argument order, arrays flattened): its new snapshot when
       * the call changed it.
       */
      readonly messages: (MessageSnapshot | undefined)[];
      /**
       * The connection meta passed in (`connectionMetaArg`) as the call left it, whole, when a
       * handler called `conn_meta:set_meta`; absent otherwise.
       */
      readonly connMeta?: Record<string, unknown> | undefined;
    }
  | {
      readonly status: 'reject';
      readonly code: number;
      readonly text: string;
      /** Set by `kumo.disconnect`. */
      readonly disconnect?: DisconnectMode | undefined;
    }
  | { readonly status: 'error'; readonly message: string; readonly traceback?: string | undefined }
  /** `where`: the policy file and line the deadline stopped, when the hook saw it. */
  | { readonly status: 'timeout'; readonly where?: string | undefined }
  /** No handler for the event, no such method, or (for objects) the object is gone. */
  | { readonly status: 'none' | 'gone' };

/** Memory and bookkeeping figures of one context (the worker adds its V8 heap). */
export interface ContextStats {
  /** Bytes the Lua allocator holds (0 for a JavaScript policy). */
  readonly luaBytes: number;
  /** Size of the wasm linear memory (0 for a JavaScript policy). */
  readonly wasmBytes: number;
  /** Values left on the main Lua stack (0 for a JavaScript policy). */
  readonly stackTop: number;
  /** Message states of calls in progress (0 between calls). */
  readonly messages: number;
}

/**
 * What a pool worker needs from the engine running the policy: the Lua VM (`LuaContext`) or
 * a TypeScript/JavaScript module (`JsContext`). Every method reports the policy's failures as
 * an outcome; a rejected promise means the engine itself failed (see {@link broken}).
 */
export interface PolicyContext {
  /** Set when the engine failed in a way that leaves it unusable: the worker must be replaced. */
  readonly broken: boolean;
  /** Runs the policy file; a syntax or load error is an `error` naming the file and line. */
  load(path: string, deadline: number): Promise<CallOutcome>;
  /** The names of the events the policy has handlers for. */
  events(): Promise<string[]>;
  /** Calls an event's handlers (the first non-nil result of a "multiple" event wins). */
  call(event: string, args: readonly unknown[], deadline: number): Promise<CallOutcome>;
  /** Calls a constructor event and keeps the object: `values` = `[id, methodNames]`. */
  construct(event: string, args: readonly unknown[], deadline: number): Promise<CallOutcome>;
  /** Calls a method of an object kept by {@link construct}. */
  callMethod(
    id: number,
    method: string,
    args: readonly unknown[],
    deadline: number,
  ): Promise<CallOutcome>;
  /** Drops a kept object. */
  release(id: number): Promise<void>;
  /** Frees what the engine can before memory is measured. */
  collect(): Promise<void>;
  /** Memory and bookkeeping figures, for leak tests and diagnostics. */
  stats(): ContextStats;
}
