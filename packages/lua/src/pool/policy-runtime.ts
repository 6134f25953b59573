import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { errorText, type PolicyHost, type PolicyObject, type SternaError } from '@sterna/core';
import type { CallOutcome } from '../context/policy-context.js';
import type { RuntimeHost } from '../host/runtime-host.js';
import { type MessageSnapshot, restoreUnchangedData } from '../message/message-snapshot.js';
import { luaError } from '../shared/errors.js';
import { daemonHandlers } from './daemon-handlers.js';
import { applyBack, marshalArgs, settle } from './marshal.js';
import { LuaPolicyObject } from './policy-object.js';
import type { WorkerStats, WorkRequest } from './worker-protocol.js';
import { type SlotOwner, WorkerSlot } from './worker-slot.js';

/** Options of {@link PolicyRuntime.start}. */
export interface PolicyRuntimeOptions {
  /**
   * Path of the policy file: `init.lua`, or a TypeScript/JavaScript module (`.ts`, `.mts`,
   * `.cts`, `.js`, `.mjs`, `.cjs`) that registers its handlers with `@sterna/policy`.
   */
  readonly policy: string;
  /**
   * For a TypeScript/JavaScript policy: a file URL its bare `@sterna/…` imports are resolved
   * from when they do not resolve from the policy's own folder (a policy in /etc/sterna
   * importing `@sterna/policy` gets the daemon's copy). Unset: only the policy's folder.
   */
  readonly importFallback?: string | undefined;
  /** The daemon's side: configuration calls, DNS, output. @default {} */
  readonly host?: RuntimeHost | undefined;
  /** Lua contexts (worker threads), each with the policy loaded. @default 2 (1 on one core) */
  readonly poolSize?: number | undefined;
  /** Deadline of an event call, ms. @default 10000 */
  readonly deadlineMs?: number | undefined;
  /** Deadline of a `custom_lua` constructor or method call, ms. @default 60000 */
  readonly methodDeadlineMs?: number | undefined;
  /**
   * Deadline for loading the policy in a context (running its top level, counted from when the
   * context's VM is up: starting the thread and compiling the VM are not limited), ms.
   * @default 10000
   */
  readonly loadDeadlineMs?: number | undefined;
  /**
   * Memory per context, bytes: the Lua heap, or for a TypeScript/JavaScript policy the
   * worker's V8 heap (old generation, rounded up to MiB, at least 16 MiB; a worker past it is
   * ended and replaced, its calls failing with `STERNA_LUA_CONTEXT_LOST`).
   * @default 134217728 (128 MiB)
   */
  readonly memoryMaxBytes?: number | undefined;
  /**
   * How long a worker may take to report a call stopped after its deadline before it is
   * terminated and replaced, ms. @default 100
   */
  readonly terminateGraceMs?: number | undefined;
  /**
   * Keep one extra context loaded so a terminated one is replaced at once: `true` from the start,
   * `'after-loss'` from the first time a context had to be terminated (a policy that never needs
   * it never pays its memory), `false` never. @default true
   */
  readonly spare?: boolean | 'after-loss' | undefined;
}

/**
 * The budget of a task's event (`kumo.spawn_task`), ms: the longest a Node timer waits,
 * about 24.8 days. A task is meant to run for as long as the daemon does.
 */
const TASK_BUDGET_MS = 2_147_483_647;

/** Options of one call. */
export interface CallOptions {
  /** This call's deadline, ms. @default the runtime's `deadlineMs` */
  readonly deadlineMs?: number | undefined;
}

/** What an event returned. */
export interface EventResult {
  /** The first value the handler returned (`undefined` for nil or no handler). */
  readonly value: unknown;
  /** Every value the handler returned. */
  readonly values: readonly unknown[];
  /** Whether the policy has a handler for the event. */
  readonly handled: boolean;
  /**
   * For each message passed (argument order, arrays flattened): its new snapshot when the
   * policy changed it (meta, envelope, data or headers), else `undefined`.
   */
  readonly messages: readonly (MessageSnapshot | undefined)[];
  /**
   * The connection meta passed (`connectionMetaArg`) as the handler left it, whole, when it
   * called `conn_meta:set_meta`; `undefined` otherwise. KumoMTA's connection meta lasts for the
   * connection: the caller keeps it for the connection's later events.
   */
  readonly connMeta?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * The KumoMTA policy runtime: a pool of independent Lua contexts, each a worker thread with
 * the policy loaded. Policy globals are per context, as in KumoMTA. Every call has a deadline;
 * a context that cannot be stopped in time is terminated and replaced.
 */
export class PolicyRuntime implements PolicyHost {
  private readonly active: WorkerSlot[] = [];
  private spareSlot: WorkerSlot | undefined;
  /** Contexts of an earlier load of the policy, closed once their calls and objects are done. */
  private readonly retired = new Set<WorkerSlot>();
  /** Contexts running a task (`kumo.spawn_task`), one each. */
  private readonly tasks = new Set<WorkerSlot>();
  /** Counts reloads: a replacement loaded for an earlier one is retired, not used. */
  private generation = 0;
  private readonly size: number;
  private eventNames: ReadonlySet<string> = new Set();
  private closed = false;
  /** Replacement contexts still loading. */
  private replacing = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly host: RuntimeHost;
  private readonly owner: SlotOwner;
  private readonly deadlineMs: number;
  private readonly methodDeadlineMs: number;

  private constructor(private readonly options: PolicyRuntimeOptions) {
    this.host = options.host ?? {};
    this.deadlineMs = options.deadlineMs ?? 10_000;
    this.methodDeadlineMs = options.methodDeadlineMs ?? 60_000;
    this.size = Math.max(1, options.poolSize ?? Math.min(2, availableParallelism()));
    this.owner = {
      onHostRequest: daemonHandlers(this.host, {
        spawn_task: (event, args) => this.spawnTask(event, args === undefined ? [] : [args]),
      }),
      onLost: (slot, reason) => {
        this.retired.delete(slot);
        this.replace(slot, reason);
      },
      retry: async (work, budgetMs, label) => {
        const slot = await this.pick();
        return slot.run(work, Math.max(0, budgetMs), label);
      },
      onAvailable: () => {
        for (const wake of this.waiting.splice(0)) wake();
      },
    };
  }

  /**
   * Starts the pool and loads the policy in every context.
   *
   * @throws SternaError `STERNA_LUA_LOAD` naming the file and line of a syntax or load error.
   */
  static async start(options: PolicyRuntimeOptions): Promise<PolicyRuntime> {
    const runtime = new PolicyRuntime(options);
    const slots = Array.from({ length: runtime.size }, () => runtime.spawn());
    try {
      const events = await Promise.all(slots.map((s) => s.ready));
      runtime.eventNames = new Set(events[0]);
    } catch (error) {
      await Promise.all(slots.map((s) => s.terminate('startup failed')));
      throw error;
    }
    runtime.active.push(...slots);
    if ((options.spare ?? true) === true) runtime.startSpare();
    return runtime;
  }

  /** The events the policy has handlers for. */
  get events(): readonly string[] {
    return [...this.eventNames];
  }

  /** Whether the policy binds a handler to `event`. */
  hasEvent(event: string): boolean {
    return this.eventNames.has(event);
  }

  /**
   * Calls an event in one context. Messages among `args` ({@link MessageSnapshot}s or core
   * `Message`s) become Lua message objects.
   *
   * @throws LuaRejection when the policy called `kumo.reject(code, text)`.
   * @throws SternaError `STERNA_LUA_TIMEOUT`, `STERNA_LUA_ERROR`, `STERNA_LUA_CONTEXT_LOST`.
   */
  async call(
    event: string,
    args: readonly unknown[] = [],
    options: CallOptions = {},
  ): Promise<EventResult> {
    const budget = options.deadlineMs ?? this.deadlineMs;
    const slot = (!this.closed && this.pickNow()) || (await this.pick());
    const sent = marshalArgs(args);
    const outcome = (await slot.run(
      { kind: 'call', event, args: sent },
      budget,
      event,
    )) as CallOutcome;
    if (outcome.status === 'none')
      return { value: undefined, values: [], handled: false, messages: [] };
    const ok = settle(outcome, event);
    restoreUnchangedData(sent, ok.messages);
    applyBack(args, ok.messages);
    return {
      value: ok.values[0],
      values: ok.values,
      handled: true,
      messages: ok.messages,
      ...(ok.connMeta ? { connMeta: ok.connMeta } : {}),
    };
  }

  /**
   * Calls a constructor event (`custom_lua`) and keeps the object it returns in that context.
   *
   * @throws SternaError `STERNA_LUA_NO_HANDLER` when the policy has no such event.
   */
  async construct(event: string, args: readonly unknown[]): Promise<PolicyObject> {
    const slot = (!this.closed && this.pickNow()) || (await this.pick());
    const outcome = (await slot.run(
      { kind: 'construct', event, args: marshalArgs(args) },
      this.methodDeadlineMs,
      event,
    )) as CallOutcome;
    if (outcome.status === 'none') {
      throw luaError('STERNA_LUA_NO_HANDLER', `the policy has no handler for the event ${event}`);
    }
    const ok = settle(outcome, event);
    const methods = Array.isArray(ok.values[1]) ? ok.values[1].map(String) : [];
    return new LuaPolicyObject(this, slot, Number(ok.values[0]), event, methods);
  }

  /**
   * Loads the policy file again in a fresh set of contexts (a new config epoch) and swaps them
   * in once every one has loaded: later calls run the new policy; calls in flight finish on the
   * old contexts, which are closed when they are done and the objects made in them (a
   * `custom_lua` connection) are released. Nothing is called in the new contexts: `init` ran
   * once, at start. A warm spare is loaded again too.
   *
   * @throws SternaError `STERNA_LUA_LOAD` when the policy no longer loads; the contexts
   *   running keep running the policy as it was.
   */
  async reload(): Promise<void> {
    if (this.closed) throw closedError();
    const slots = Array.from({ length: this.size }, () => this.spawn());
    let events: (readonly string[])[];
    try {
      events = await Promise.all(slots.map((s) => s.ready));
    } catch (error) {
      await Promise.all(slots.map((s) => s.terminate('the reloaded policy failed to load')));
      throw error;
    }
    if (this.closed) {
      await Promise.all(slots.map((s) => s.terminate('the policy runtime was closed')));
      throw closedError();
    }
    this.generation++;
    const old = this.active.splice(0, this.active.length, ...slots);
    this.eventNames = new Set(events[0]);
    const oldSpare = this.spareSlot;
    this.spareSlot = undefined;
    for (const slot of old) this.retire(slot);
    if (oldSpare) this.retire(oldSpare);
    const spare = this.options.spare ?? true;
    if (spare === true || (spare === 'after-loss' && oldSpare)) this.startSpare();
    for (const wake of this.waiting.splice(0)) wake();
  }

  /**
   * Runs `event` in the background in a Lua context of its own (`kumo.spawn_task`), loaded
   * for it and closed when the event returns. The event's error, or a missing handler, is
   * logged; nothing waits for the task.
   */
  spawnTask(event: string, args: readonly unknown[] = []): void {
    if (this.closed) throw closedError();
    // A task's call never moves to the pool (it would hold a pool context for its lifetime).
    const slot = this.spawn({
      ...this.owner,
      onLost: () => this.tasks.delete(slot),
      retry: () => Promise.reject(luaError('STERNA_LUA_CONTEXT_LOST', `task ${event}: lost`)),
    });
    this.tasks.add(slot);
    slot.ready
      .then(() => slot.run({ kind: 'call', event, args: marshalArgs(args) }, TASK_BUDGET_MS, event))
      .then((outcome) => {
        const result = outcome as CallOutcome;
        if (result.status === 'none') {
          throw new Error(`the policy has no handler for the event ${event}`);
        }
        settle(result, event);
      })
      .catch((error: unknown) => {
        if (!this.closed) this.log('error', `task ${event} failed: ${errorText(error)}`);
      })
      .finally(() => {
        this.tasks.delete(slot);
        void slot.terminate(`task ${event} finished`);
      });
  }

  /** Whether a warm spare context is loaded or loading (see the `spare` option). */
  get hasSpare(): boolean {
    return this.spareSlot !== undefined;
  }

  /**
   * Memory figures of every active context; with `collect`, after a full Lua and V8 garbage
   * collection (for leak checks).
   */
  async stats(options: { collect?: boolean } = {}): Promise<WorkerStats[]> {
    const work = { kind: 'stats', collect: options.collect } as const;
    return Promise.all(this.active.map((s) => s.run(work, 5000, 'stats') as Promise<WorkerStats>));
  }

  /** Terminates every context. Calls in flight fail; later calls fail with STERNA_LUA_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const slots = [
      ...this.active,
      ...(this.spareSlot ? [this.spareSlot] : []),
      ...this.retired,
      ...this.tasks,
    ];
    this.active.length = 0;
    this.spareSlot = undefined;
    this.retired.clear();
    this.tasks.clear();
    await Promise.all(slots.map((s) => s.terminate('the policy runtime was closed')));
    for (const wake of this.waiting.splice(0)) wake();
  }

  /** @internal Runs work on a given slot with the method deadline (for policy objects). */
  runOn(slot: WorkerSlot, work: WorkRequest, label: string): Promise<CallOutcome> {
    if (this.closed) return Promise.reject(closedError());
    return slot.run(work, this.methodDeadlineMs, label) as Promise<CallOutcome>;
  }

  /** The least busy context that may take work, if any (synchronously, so load counts). */
  private pickNow(): WorkerSlot | undefined {
    let best: WorkerSlot | undefined;
    for (const s of this.active) if (s.available && (!best || s.load < best.load)) best = s;
    return best;
  }

  private async pick(): Promise<WorkerSlot> {
    for (;;) {
      if (this.closed) throw closedError();
      const best = this.pickNow();
      if (best) return best;
      if (this.active.length === 0 && this.replacing === 0) {
        throw luaError(
          'STERNA_LUA_CONTEXT_LOST',
          'no policy context is running: replacing a terminated one failed (see the log)',
        );
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private spawn(owner: SlotOwner = this.owner): WorkerSlot {
    return new WorkerSlot(
      {
        policy: resolve(this.options.policy),
        memoryMax: this.options.memoryMaxBytes ?? 128 * 1024 * 1024,
        loadDeadlineMs: this.options.loadDeadlineMs ?? 10_000,
        importFallback: this.options.importFallback,
      },
      owner,
      this.options.terminateGraceMs ?? 100,
    );
  }

  private retire(slot: WorkerSlot): void {
    if (slot.gone !== undefined) return;
    this.retired.add(slot);
    slot.retire('the policy was reloaded');
  }

  private startSpare(): void {
    if (this.closed) return;
    const slot = this.spawn();
    this.spareSlot = slot;
    slot.ready.then(
      () => {},
      (error: unknown) => {
        if (this.spareSlot === slot) this.spareSlot = undefined;
        this.host.log?.('error', `a spare policy context failed to start: ${String(error)}`);
      },
    );
  }

  private replace(slot: WorkerSlot, reason: string): void {
    if (this.spareSlot === slot) this.spareSlot = undefined;
    const at = this.active.indexOf(slot);
    if (at < 0 || this.closed) return;
    this.active.splice(at, 1);
    this.log('warn', `policy context replaced: ${reason}`);
    const next = this.spareSlot ?? this.spawn();
    this.spareSlot = undefined;
    this.replacing++;
    const generation = this.generation;
    next.ready
      .then(
        () => {
          if (this.closed) return void next.terminate('the policy runtime was closed');
          // Loaded from the file as it was before a reload: not the policy running now.
          if (this.generation !== generation) return this.retire(next);
          this.active.push(next);
        },
        (error: unknown) =>
          this.log('error', `a replacement policy context failed: ${String(error)}`),
      )
      .finally(() => {
        this.replacing--;
        for (const wake of this.waiting.splice(0)) wake();
        // The next spare loads once the replacement is in: two VM compiles at once would slow
        // the one the pool is waiting for.
        if ((this.options.spare ?? true) !== false && this.spareSlot === undefined) {
          this.startSpare();
        }
      });
  }

  private log(level: 'error' | 'warn', text: string): void {
    if (this.host.log) this.host.log(level, text);
    else process.stderr.write(`[lua ${level}] ${text}\n`);
  }
}

function closedError(): SternaError {
  return luaError('STERNA_LUA_CLOSED', 'the policy runtime was closed');
}
