import type { CallOutcome } from '../context/policy-context.js';
import type { DaemonCallName } from '../host/host-calls.js';
import type { ReplyMessage, RequestMessage } from '../threads/requests.js';

/** What a worker is started with (`workerData`). */
export interface WorkerInit {
  readonly policy: string;
  /**
   * Bytes the policy may use: the Lua heap, or for a TypeScript/JavaScript policy the worker's
   * V8 old generation (see `PolicyRuntimeOptions.memoryMaxBytes`).
   */
  readonly memoryMax?: number | undefined;
  readonly loadDeadlineMs: number;
  /**
   * A file URL a TypeScript/JavaScript policy's `@sterna/…` imports resolve from when they do
   * not resolve from the policy's own folder (see `PolicyRuntimeOptions.importFallback`).
   */
  readonly importFallback?: string | undefined;
  /** One Int32: the id of the last work item the worker began. */
  readonly started?: SharedArrayBuffer | undefined;
  /** A `tsx` API module to register before importing the entry (source runs only). */
  readonly tsx?: string | undefined;
  readonly entry?: string | undefined;
}

/** A unit of work for a worker's policy context. Deadlines are epoch milliseconds. */
export type WorkRequest =
  | { readonly kind: 'call'; readonly event: string; readonly args: readonly unknown[] }
  | { readonly kind: 'construct'; readonly event: string; readonly args: readonly unknown[] }
  | {
      readonly kind: 'method';
      readonly object: number;
      readonly method: string;
      readonly args: readonly unknown[];
    }
  | { readonly kind: 'release'; readonly object: number }
  | { readonly kind: 'stats'; readonly collect?: boolean | undefined };

/** One unit of work with its id and deadline (epoch milliseconds). */
export interface WorkItem {
  readonly id: number;
  readonly deadline: number;
  readonly work: WorkRequest;
}

/** Main thread → worker. */
export type ToWorker =
  /** Work items posted in the same tick travel together (one message per batch). */
  { readonly t: 'work'; readonly items: readonly WorkItem[] } | ReplyMessage;

/** Worker → main thread. */
export type FromWorker =
  /** The Lua VM is up and the policy starts loading: its load deadline runs from here. */
  | { readonly t: 'loading' }
  | { readonly t: 'ready'; readonly events: readonly string[] }
  | { readonly t: 'loadError'; readonly message: string }
  /** Results finished in the same turn travel together. */
  | {
      readonly t: 'done';
      readonly results: readonly {
        readonly id: number;
        readonly outcome: CallOutcome | WorkerStats;
      }[];
    }
  /** A one-way daemon host call (print, log): handled in order, not answered. */
  | { readonly t: 'tell'; readonly op: DaemonCallName; readonly args: readonly unknown[] }
  /** A daemon host call (`op` is a `DaemonCalls` member), answered with a reply. */
  | RequestMessage;

/** Memory figures of one context (see `PolicyRuntime.stats`). */
export interface WorkerStats {
  /** Bytes the Lua allocator holds. */
  readonly luaBytes: number;
  /** Size of the wasm linear memory (it only grows). */
  readonly wasmBytes: number;
  /** Values left on the main Lua stack (0 when nothing leaks). */
  readonly stackTop: number;
  /** The worker's V8 heap in use. */
  readonly jsHeapBytes: number;
  /** Message states not yet released (0 between calls). */
  readonly messages: number;
}
