import { SHARE_ENV, type Worker } from 'node:worker_threads';
import type { CallOutcome } from '../context/policy-context.js';
import { isJsPolicy } from '../js/policy-file.js';
import { luaError } from '../shared/errors.js';
import { startModuleWorker } from '../threads/module-worker.js';
import { answer } from '../threads/requests.js';
import type {
  FromWorker,
  ToWorker,
  WorkerInit,
  WorkerStats,
  WorkItem,
  WorkRequest,
} from './worker-protocol.js';

/** What a slot needs from its pool. */
export interface SlotOwner {
  /** Answers a daemon host call of the Lua side (`op` is a `DaemonCalls` member). */
  onHostRequest(op: string, args: readonly unknown[]): unknown;
  /** The worker died or was terminated; the pool replaces it. */
  onLost(slot: WorkerSlot, reason: string): void;
  /** A worker that was suspected stuck answered: it may take work again. */
  onAvailable(): void;
  /** Runs an event call elsewhere: it was sent to a worker that died before starting it. */
  retry(work: WorkRequest, budgetMs: number, label: string): Promise<CallOutcome | WorkerStats>;
}

interface InFlight {
  readonly label: string;
  readonly work: WorkRequest;
  /** Epoch milliseconds. */
  readonly deadline: number;
  /** The call's budget, for the error text. */
  readonly budgetMs: number;
  resolve(outcome: CallOutcome | WorkerStats): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout | undefined;
  /** Set once the caller was told of the timeout; the worker gets a grace period to answer. */
  expired: boolean;
}

const MiB = 1024 * 1024;

/**
 * The V8 heap cap of a worker running a TypeScript/JavaScript policy: `memoryMax` rounded up
 * to MiB, at least 16. Beyond it V8 ends the worker (the pool replaces it). A Lua worker's
 * cap is the Lua allocator's, inside the VM, so its V8 heap is left alone.
 */
export function jsHeapLimitMb(memoryMax: number): number {
  return Math.max(16, Math.ceil(memoryMax / MiB));
}

function spawn(init: WorkerInit): Worker {
  const limits =
    isJsPolicy(init.policy) && init.memoryMax !== undefined
      ? { resourceLimits: { maxOldGenerationSizeMb: jsHeapLimitMb(init.memoryMax) } }
      : {};
  // SHARE_ENV: the policy's os.getenv sees the daemon's environment as it is now, not a copy.
  return startModuleWorker(import.meta.url, 'worker', {
    workerData: init,
    env: SHARE_ENV,
    ...limits,
  });
}

let nextSlotId = 1;

/**
 * One worker of the pool and the calls in flight on it. A call whose deadline passes is
 * failed at once; if the worker has not answered it `graceMs` later (it is stuck where the
 * count hook cannot reach, e.g. in a C pattern matcher), the worker is terminated.
 */
export class WorkerSlot {
  readonly id = nextSlotId++;
  readonly ready: Promise<readonly string[]>;
  private readonly worker: Worker;
  private readonly inflight = new Map<number, InFlight>();
  private nextId = 1;
  private lostReason: string | undefined;
  private reported = false;
  private outbox: WorkItem[] = [];
  /** The id of the last work item the worker began (written by the worker). */
  private readonly started = new Int32Array(new SharedArrayBuffer(4));
  /** Calls past their deadline that the worker has not answered yet. */
  private overdue = 0;
  /** Objects made here and not yet released (`custom_lua` connections). */
  private objects = 0;
  /** Set once the pool retired this context: why it is terminated once idle. */
  private retiredBecause: string | undefined;

  constructor(
    init: WorkerInit,
    private readonly owner: SlotOwner,
    private readonly graceMs: number,
  ) {
    this.worker = spawn({ ...init, started: this.started.buffer as SharedArrayBuffer });
    this.worker.unref();
    // A top-level loop in C (a pattern, an endless error handler) never lets the worker
    // report: loading has a deadline on this side too. It runs from the worker's 'loading'
    // (the VM is compiled by then), not from the spawn: starting a thread and compiling the VM
    // take as long as a busy machine makes them, and a policy that loads at once must not fail
    // for it.
    let loading: NodeJS.Timeout | undefined;
    this.ready = new Promise((resolve, reject) => {
      this.worker.on('message', (message: FromWorker) => {
        if (message.t === 'loading') {
          loading ??= setTimeout(() => {
            void this.terminate(
              `${init.policy}: loading did not finish within ${init.loadDeadlineMs} ms`,
            );
          }, init.loadDeadlineMs + graceMs);
        } else if (message.t === 'ready') {
          clearTimeout(loading);
          resolve(message.events);
        } else if (message.t === 'loadError') {
          clearTimeout(loading);
          reject(luaError('STERNA_LUA_LOAD', `policy failed to load: ${message.message}`));
          void this.terminate('the policy failed to load');
        } else this.onMessage(message);
      });
      this.worker.on('error', (error) => {
        reject(luaError('STERNA_LUA_LOAD', `policy worker failed: ${error.message}`, error));
        this.lost(`the worker failed: ${error.message}`);
      });
      this.worker.on('exit', () => {
        clearTimeout(loading);
        reject(
          luaError(
            'STERNA_LUA_LOAD',
            `policy worker exited while loading: ${this.lostReason ?? 'it failed'}`,
          ),
        );
        this.lost(this.lostReason ?? 'the worker exited');
      });
    });
    this.ready.catch(() => {});
  }

  /** Calls in flight. */
  get load(): number {
    return this.inflight.size;
  }

  /**
   * Whether new work may go here: not while a call that passed its deadline is unanswered
   * (the worker may be stuck and about to be terminated).
   */
  get available(): boolean {
    return this.lostReason === undefined && this.overdue === 0;
  }

  /** Why the worker is gone, or undefined while it lives. */
  get gone(): string | undefined {
    return this.lostReason;
  }

  /** Runs `work` in the worker; `label` names the call in error texts. */
  run(work: WorkRequest, budgetMs: number, label: string): Promise<CallOutcome | WorkerStats> {
    if (this.lostReason !== undefined) {
      return Promise.reject(luaError('STERNA_LUA_CONTEXT_LOST', `${label}: ${this.lostReason}`));
    }
    const id = this.nextId++;
    const deadline = Date.now() + budgetMs;
    return new Promise((resolve, reject) => {
      const entry: InFlight = {
        label,
        work,
        deadline,
        budgetMs,
        resolve,
        reject,
        timer: undefined,
        expired: false,
      };
      entry.timer = setTimeout(() => this.expire(id, entry), budgetMs);
      this.inflight.set(id, entry);
      if (this.outbox.length === 0) queueMicrotask(() => this.flush());
      this.outbox.push({ id, deadline, work });
    });
  }

  /** An object made in this context (counted when its constructor returned) was released. */
  dropObject(): void {
    this.objects--;
    this.closeIfRetired();
  }

  /**
   * The pool takes no new work here (a reloaded policy replaced this context): the worker is
   * terminated, for `reason`, once its calls in flight have finished and its objects are
   * released.
   */
  retire(reason: string): void {
    this.retiredBecause ??= reason;
    this.closeIfRetired();
  }

  private closeIfRetired(): void {
    if (this.retiredBecause !== undefined && this.inflight.size === 0 && this.objects <= 0) {
      void this.terminate(this.retiredBecause);
    }
  }

  /** Terminates the worker; calls in flight fail with STERNA_LUA_CONTEXT_LOST. */
  async terminate(reason: string): Promise<void> {
    if (this.lostReason === undefined) this.lostReason = reason;
    await this.worker.terminate();
  }

  private expire(id: number, entry: InFlight): void {
    if (!entry.expired) {
      // The worker's own hook stops ordinary runaway code at the same deadline and reports
      // where it was; give it the grace period to say so before failing the call.
      entry.expired = true;
      this.overdue++;
      entry.timer = setTimeout(() => this.expire(id, entry), this.graceMs);
      return;
    }
    // Still no answer after the grace period: the Lua code is beyond the hook's reach.
    entry.reject(timeoutError(entry));
    void this.terminate(
      `the policy context was terminated because ${entry.label} overran its deadline`,
    );
  }

  private settle(id: number, outcome: CallOutcome | WorkerStats): void {
    const entry = this.inflight.get(id);
    if (!entry) return;
    this.inflight.delete(id);
    clearTimeout(entry.timer);
    const timedOut = 'status' in outcome && outcome.status === 'timeout';
    if (entry.expired) {
      // Past the deadline: a timeout whatever the worker answered, with its location if known.
      entry.reject(timeoutError(entry, timedOut ? outcome.where : undefined));
      if (--this.overdue === 0) this.owner.onAvailable();
      this.closeIfRetired();
      return;
    }
    if (timedOut) entry.reject(timeoutError(entry, outcome.where));
    else {
      // Counted here, before anyone can retire the context between the answer and its use.
      if (entry.work.kind === 'construct' && 'status' in outcome && outcome.status === 'ok') {
        this.objects++;
      }
      entry.resolve(outcome);
    }
    this.closeIfRetired();
  }

  private onMessage(message: FromWorker): void {
    switch (message.t) {
      case 'done':
        for (const { id, outcome } of message.results) this.settle(id, outcome);
        return;
      case 'tell':
        this.owner.onHostRequest(message.op, message.args);
        return;
      case 'request':
        answer(
          message,
          (op, args) => this.owner.onHostRequest(op, args),
          (reply) => this.reply(reply),
        );
        return;
      default:
        return;
    }
  }

  // Calls made in the same tick go to the worker as one message.
  private flush(): void {
    const items = this.outbox;
    this.outbox = [];
    if (this.lostReason !== undefined) return;
    try {
      this.worker.postMessage({ t: 'work', items } satisfies ToWorker);
    } catch {
      // Arguments that cannot be copied to the thread (nested too deeply, a function) fail
      // their own call, never the daemon or the calls they were batched with.
      for (const item of items) {
        try {
          this.worker.postMessage({ t: 'work', items: [item] } satisfies ToWorker);
        } catch (error) {
          this.refuse(item.id, error);
        }
      }
    }
  }

  private refuse(id: number, error: unknown): void {
    const entry = this.inflight.get(id);
    if (!entry) return;
    this.inflight.delete(id);
    clearTimeout(entry.timer);
    const why = error instanceof Error ? error.message : String(error);
    entry.reject(
      luaError('STERNA_LUA_ARGS', `${entry.label}: its arguments cannot be passed to Lua: ${why}`),
    );
  }

  private reply(message: Extract<ToWorker, { t: 'reply' }>): void {
    // A host answer that cannot be copied throws here, and `answer` sends the error instead:
    // it fails the Lua call that asked for it.
    if (this.lostReason === undefined) this.worker.postMessage(message);
  }

  private lost(reason: string): void {
    this.lostReason ??= reason;
    // Work reaches the worker in id order and it records the last id it began: later event
    // calls never ran, so they can run on another context instead of failing with this one.
    const begun = Atomics.load(this.started, 0);
    for (const [id, entry] of this.inflight) {
      clearTimeout(entry.timer);
      if (entry.expired) continue;
      if (id > begun && entry.work.kind === 'call') {
        this.owner
          .retry(entry.work, entry.deadline - Date.now(), entry.label)
          .then(entry.resolve, entry.reject);
      } else {
        entry.reject(luaError('STERNA_LUA_CONTEXT_LOST', `${entry.label}: ${this.lostReason}`));
      }
    }
    this.inflight.clear();
    if (!this.reported) {
      this.reported = true;
      this.owner.onLost(this, this.lostReason);
    }
  }
}

function timeoutError(entry: InFlight, where?: string) {
  const at = where ? ` at ${where}` : '';
  return luaError(
    'STERNA_LUA_TIMEOUT',
    `${entry.label} did not finish within its deadline of ${entry.budgetMs} ms and was stopped${at}`,
  );
}
