/**
 * The pool, on the daemon's thread: `PolicyRuntime` and its worker slots, warm spares and
 * replacements, reloads (a config epoch) and tasks (`kumo.spawn_task`), the protocol to each worker, and the marshalling of messages across the thread
 * boundary. (`worker.ts` is the worker's entry and is not re-exported: importing it starts one.)
 * @module
 */
export type { LuaPolicyObject, ObjectRunner } from './policy-object.js';
export {
  type CallOptions,
  type EventResult,
  PolicyRuntime,
  type PolicyRuntimeOptions,
} from './policy-runtime.js';
export type { WorkerStats } from './worker-protocol.js';
