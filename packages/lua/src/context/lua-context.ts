import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  LUA_REGISTRYINDEX,
  type LuaEngine,
  LuaEventMasks,
  LuaFactory,
  LuaMultiReturn,
  LuaReturn,
  type LuaThread,
  LuaType,
} from 'wasmoon';
import type { ContextHost } from '../host/context-host.js';
import { hostTable } from '../host/host-table.js';
import { cidrFunctions } from '../kumo/cidr.js';
import { codecFunctions } from '../kumo/codec-functions.js';
import { dkimFunctions } from '../kumo/dkim-functions.js';
import { hostFunctions } from '../kumo/host-functions.js';
import { regexFunctions } from '../kumo/regex-functions.js';
import { serdeFunctions } from '../kumo/serde-functions.js';
import { stringFunctions } from '../kumo/string-functions.js';
import { messageFunctions } from '../message/message-functions.js';
import {
  isConnectionMetaArg,
  isEnvelopeAddress,
  isMessageSnapshot,
} from '../message/message-snapshot.js';
import { MessageState } from '../message/message-state.js';
import type { DisconnectMode } from '../shared/errors.js';
import { fromLua, toLua } from '../shared/json-text.js';
import { pushLuaValue } from '../shared/lua-push.js';
import { readLuaValue } from '../shared/lua-values.js';
import type { CallOutcome, ContextStats, PolicyContext } from './policy-context.js';
import { POLICY_EXTRAS_ROOT, preludeChunks } from './preludes.js';

export type { CallOutcome } from './policy-context.js';

/** Options of a {@link LuaContext}. */
export interface LuaContextOptions {
  /** Bytes of Lua heap this context may use; beyond it allocations fail with 'not enough memory'. */
  readonly memoryMax?: number | undefined;
  /** The folder `require` searches first. @default the policy's folder */
  readonly policyDir?: string | undefined;
  /** VM instructions between deadline checks. @default 1000 */
  readonly hookInterval?: number | undefined;
}

interface Slot {
  readonly thread: LuaThread;
  readonly ref: number;
}

interface Running {
  readonly L: number;
  readonly deadline: number;
  expired: boolean;
  /** `file:line` where the deadline stopped the code. */
  where?: string | undefined;
}

// One factory (one compiled wasm module) per thread: later engines cost ≈2 ms.
let factory: LuaFactory | undefined;

/**
 * One Lua state with the policy loaded: the engine a worker of the pool runs. Every call runs
 * on its own Lua thread (so it may await host promises), under a deadline enforced by one
 * count hook for the whole engine; a call that overruns is stopped at its next instruction,
 * even inside `pcall`. Nothing here stops a C function that never returns (a pathological
 * `string.find`): the pool terminates the worker for that.
 */
export class LuaContext implements PolicyContext {
  private readonly free: Slot[] = [];
  private readonly messages = new Map<number, MessageState>();
  private nextHandle = 1;
  private running: Running | undefined;
  /** Set when the engine threw instead of returning a status: the worker must be replaced. */
  broken = false;
  private refs: Record<
    'dispatch' | 'construct' | 'call_method' | 'release' | 'events' | 'collect',
    number
  >;

  private constructor(
    private readonly engine: LuaEngine,
    host: ContextHost,
    options: LuaContextOptions,
  ) {
    const g = engine.global;
    const lua = g.lua;
    // Leak 2 of libraries.md: wasmoon's per-run timeout adds a wasm table slot per call.
    // One hook for the engine; threads inherit it from the main state when created.
    const hook = lua.module.addFunction((L: number) => this.onHook(L, hook), 'vii');
    lua.lua_sethook(g.address, hook, LuaEventMasks.Count, options.hookInterval ?? 1000);
    const H = hostTable(
      {
        ...hostFunctions(),
        ...codecFunctions(),
        ...serdeFunctions(),
        ...regexFunctions(),
        ...stringFunctions(),
        ...cidrFunctions(fromLua, toLua),
        ...messageFunctions(this.messages),
        ...dkimFunctions(this.messages, (name) => host.ask('dns_lookup_txt', [name])),
      },
      host,
    );
    const top = g.getTop();
    replacePromiseAwait(g);
    // Every prelude file gets the same H, kumo and internal tables (kept in the registry while
    // they load); `internal` then holds the functions this side calls.
    g.pushValue(H);
    const hRef = lua.luaL_ref(g.address, LUA_REGISTRYINDEX);
    lua.lua_createtable(g.address, 0, 0);
    const kumoRef = lua.luaL_ref(g.address, LUA_REGISTRYINDEX);
    lua.lua_createtable(g.address, 0, 0);
    const internalRef = lua.luaL_ref(g.address, LUA_REGISTRYINDEX);
    const get = (ref: number) => lua.lua_rawgeti(g.address, LUA_REGISTRYINDEX, BigInt(ref));
    for (const chunk of preludeChunks()) {
      g.loadString(chunk.text, chunk.name);
      get(hRef);
      get(kumoRef);
      get(internalRef);
      g.pushValue(options.policyDir ?? '.');
      g.pushValue(POLICY_EXTRAS_ROOT);
      const status = lua.lua_pcallk(g.address, 5, 0, 0, 0, null);
      if (status !== LuaReturn.Ok) throw new Error(`Lua prelude failed: ${g.indexToString(-1)}`);
    }
    get(internalRef);
    for (const ref of [hRef, kumoRef, internalRef])
      lua.luaL_unref(g.address, LUA_REGISTRYINDEX, ref);
    const ref = (name: string) => {
      lua.lua_getfield(g.address, -1, name);
      return lua.luaL_ref(g.address, LUA_REGISTRYINDEX);
    };
    this.refs = {
      dispatch: ref('dispatch'),
      construct: ref('construct'),
      call_method: ref('call_method'),
      release: ref('release'),
      events: ref('events'),
      collect: ref('collect'),
    };
    g.setTop(top);
    if (options.memoryMax !== undefined) g.setMemoryMax(options.memoryMax);
  }

  /** A fresh context (no policy loaded yet). */
  static async create(host: ContextHost, options: LuaContextOptions = {}): Promise<LuaContext> {
    factory ??= new LuaFactory();
    const engine = await factory.createEngine({
      traceAllocations: true,
      enableProxy: false,
      injectObjects: false,
    });
    return new LuaContext(engine, host, options);
  }

  /**
   * Runs the policy file. A syntax or runtime error is returned as an `error` outcome whose
   * message names the file and line.
   */
  async load(path: string, deadline: number): Promise<CallOutcome> {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      return { status: 'error', message: `cannot read ${path}: ${(error as Error).message}` };
    }
    const slot = this.take();
    try {
      slot.thread.loadString(text, `@${resolve(path)}`);
    } catch (error) {
      this.discard(slot);
      return { status: 'error', message: (error as Error).message };
    }
    const outcome = await this.resume(slot, 0, deadline, []);
    return outcome.status === 'ok' ? { status: 'ok', values: [], messages: [] } : outcome;
  }

  /** Calls an event's handlers (first non-nil result of a "multiple" event wins). */
  call(event: string, args: readonly unknown[], deadline: number): Promise<CallOutcome> {
    return this.invoke(this.refs.dispatch, [event], args, deadline);
  }

  /** Calls a constructor event and keeps the object: `values` = `[id, methodNames]`. */
  construct(event: string, args: readonly unknown[], deadline: number): Promise<CallOutcome> {
    return this.invoke(this.refs.construct, [event], args, deadline, false);
  }

  /** Calls `object:method(...)` on an object kept by {@link construct}. */
  callMethod(
    id: number,
    method: string,
    args: readonly unknown[],
    deadline: number,
  ): Promise<CallOutcome> {
    return this.invoke(this.refs.call_method, [id, method], args, deadline);
  }

  /** Drops a kept object (the Lua garbage collector frees it). */
  async release(id: number): Promise<void> {
    await this.invoke(this.refs.release, [id], [], Date.now() + 1000, false);
  }

  /** The names of the events the policy has handlers for. */
  async events(): Promise<string[]> {
    const outcome = await this.invoke(this.refs.events, [], [], Date.now() + 1000, false);
    const names = outcome.status === 'ok' ? outcome.values[0] : undefined;
    return Array.isArray(names) ? names.map(String) : [];
  }

  /** Runs a full Lua garbage collection (before measuring memory). */
  async collect(): Promise<void> {
    await this.invoke(this.refs.collect, [], [], Date.now() + 5000, false);
  }

  /** Memory and bookkeeping figures, for leak tests and diagnostics. */
  stats(): ContextStats {
    const g = this.engine.global;
    const heap = (g.lua.module as unknown as { HEAPU8: Uint8Array }).HEAPU8;
    return {
      luaBytes: g.getMemoryUsed(),
      wasmBytes: heap.byteLength,
      stackTop: g.getTop(),
      messages: this.messages.size,
    };
  }

  private async invoke(
    fnRef: number,
    lead: readonly unknown[],
    args: readonly unknown[],
    deadline: number,
    wrap = true,
  ): Promise<CallOutcome> {
    const slot = this.take();
    const L = slot.thread.address;
    const lua = slot.thread.lua;
    const handles: number[] = [];
    lua.lua_rawgeti(L, LUA_REGISTRYINDEX, BigInt(fnRef));
    for (const v of lead) slot.thread.pushValue(v);
    // Messages (alone or in an array, as send_batch takes them) go in as handles; the Lua
    // side turns each into a message object.
    const marshal = (a: unknown): unknown => {
      if (!isMessageSnapshot(a)) return undefined;
      const h = this.nextHandle++;
      this.messages.set(h, new MessageState(a));
      handles.push(h);
      return { __sterna_message: h };
    };
    try {
      const pushed = args.map((a) => {
        if (!wrap) return toLua(a);
        if (Array.isArray(a) && a.length > 0 && isMessageSnapshot(a[0])) {
          return a.map((m) => marshal(m) ?? toLua(m));
        }
        return marshal(a) ?? toLua(a);
      });
      const special =
        handles.length > 0 || args.some((a) => isEnvelopeAddress(a) || isConnectionMetaArg(a));
      try {
        if (wrap) slot.thread.pushValue(special ? args.length : 0);
        for (const v of pushed) pushLuaValue(slot.thread, v);
      } catch (error) {
        // An argument Lua cannot hold (a bigint, a symbol): this call fails, the context is fine.
        this.discard(slot);
        return {
          status: 'error',
          message: `cannot pass the arguments to Lua: ${(error as Error).message}`,
        };
      }
      const nargs = lead.length + (wrap ? 1 : 0) + args.length;
      return await this.resume(slot, nargs, deadline, handles);
    } finally {
      for (const h of handles) this.messages.delete(h);
    }
  }

  private async resume(
    slot: Slot,
    nargs: number,
    deadline: number,
    handles: readonly number[],
  ): Promise<CallOutcome> {
    const thread = slot.thread;
    const run: Running = { L: thread.address, deadline, expired: false };
    let result = this.step(thread, nargs, run);
    while (result.result === LuaReturn.Yield) {
      const awaited = result.resultCount > 0 ? thread.getValue(-1) : undefined;
      if (result.resultCount > 0) thread.pop(result.resultCount);
      const settled = await settleBefore(awaited, deadline);
      if (!settled) {
        // The thread stays suspended forever; drop it rather than resume into expired code.
        this.discard(slot);
        return { status: 'timeout', where: run.where };
      }
      result = this.step(thread, pushSettled(thread, settled), run);
    }
    if (run.expired) {
      this.discard(slot);
      return { status: 'timeout', where: run.where };
    }
    if (result.result !== LuaReturn.Ok) {
      const message = thread.getTop() > 0 ? thread.indexToString(-1) : LuaReturn[result.result];
      this.discard(slot);
      return { status: 'error', message: message ?? 'unknown Lua error' };
    }
    const outcome = this.readOutcome(thread, handles);
    thread.setTop(0);
    this.free.push(slot);
    return outcome;
  }

  private step(thread: LuaThread, nargs: number, run: Running) {
    this.running = run;
    try {
      return thread.resume(nargs);
    } catch (error) {
      // Not a Lua error (those come back as a status) but a trap in the engine itself: its
      // state cannot be trusted any more.
      this.broken = true;
      throw error;
    } finally {
      this.running = undefined;
    }
  }

  private readOutcome(thread: LuaThread, handles: readonly number[]): CallOutcome {
    const top = thread.getTop();
    const status = top > 0 ? readLuaValue(thread, 1) : 'ok';
    const values: unknown[] = [];
    for (let i = 2; i <= top; i++) values.push(readLuaValue(thread, i));
    switch (status) {
      case 'ok':
      case 'ok_conn_meta': {
        const messages = handles.map((h) => {
          const state = this.messages.get(h);
          return state?.changed ? state.snapshot() : undefined;
        });
        if (status === 'ok') return { status: 'ok', values, messages };
        const [meta, ...rest] = values;
        // An emptied meta reads back as an empty array.
        const connMeta = Array.isArray(meta) ? {} : (meta as Record<string, unknown>);
        return { status: 'ok', values: rest, messages, connMeta };
      }
      case 'reject':
        return values[2] === undefined
          ? { status: 'reject', code: Number(values[0]), text: String(values[1] ?? '') }
          : {
              status: 'reject',
              code: Number(values[0]),
              text: String(values[1] ?? ''),
              disconnect: values[2] as DisconnectMode,
            };
      case 'error':
        return {
          status: 'error',
          message: String(values[0] ?? 'error'),
          traceback: typeof values[1] === 'string' ? values[1] : undefined,
        };
      case 'none':
      case 'gone':
        return { status };
      default:
        // A helper (events, release) that returns plain values.
        return { status: 'ok', values: [status, ...values], messages: [] };
    }
  }

  private onHook(L: number, hook: number): void {
    const run = this.running;
    if (run === undefined) return;
    const lua = this.engine.global.lua;
    if (!run.expired) {
      if (Date.now() < run.deadline) return;
      run.expired = true;
      run.where = whereIs(lua, L);
      // From now on every instruction of this call raises, so a pcall or an error handler
      // that catches the timeout cannot keep the loop going.
      lua.lua_sethook(run.L, hook, LuaEventMasks.Count, 1);
    }
    if (L !== run.L) lua.lua_sethook(L, hook, LuaEventMasks.Count, 1);
    lua.lua_pushstring(L, 'deadline exceeded');
    lua.lua_error(L);
  }

  private take(): Slot {
    const reused = this.free.pop();
    if (reused) return reused;
    const g = this.engine.global;
    const thread = g.newThread();
    const ref = g.lua.luaL_ref(g.address, LUA_REGISTRYINDEX);
    return { thread, ref };
  }

  private discard(slot: Slot): void {
    const g = this.engine.global;
    g.lua.luaL_unref(g.address, LUA_REGISTRYINDEX, slot.ref);
  }
}

/** How a yielded value settled: a promise's outcome, or nothing to hand back. */
type Settled =
  | { readonly kind: 'fulfilled'; readonly value: unknown }
  | { readonly kind: 'rejected'; readonly error: unknown }
  | { readonly kind: 'none' };

/**
 * Waits for `value` (when it is a promise) until `deadline`: how it settled, or false when the
 * deadline won. Any other yielded value waits one turn of the event loop.
 */
async function settleBefore(value: unknown, deadline: number): Promise<Settled | false> {
  if (!(value instanceof Promise)) {
    await new Promise((resolve) => setImmediate(resolve));
    return Date.now() < deadline && { kind: 'none' };
  }
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([
      value.then(
        (v: unknown): Settled => ({ kind: 'fulfilled', value: v }),
        (e: unknown): Settled => ({ kind: 'rejected', error: e }),
      ),
      expired,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Pushes what the awaiting Lua code is resumed with (see {@link AWAIT_LUA}): `true` and the
 * value (each value of a LuaMultiReturn), or `false` and the error. Returns how many.
 */
function pushSettled(thread: LuaThread, settled: Settled): number {
  if (settled.kind === 'none') return 0;
  if (settled.kind === 'rejected') {
    thread.pushValue(false);
    thread.pushValue(settled.error || new Error('promise rejected with no error'));
    return 2;
  }
  thread.pushValue(true);
  const { value } = settled;
  if (value instanceof LuaMultiReturn) {
    for (const v of value) pushLuaValue(thread, v);
    return 1 + value.length;
  }
  pushLuaValue(thread, value);
  return 2;
}

/**
 * `promise:await()` for every Lua context. wasmoon's own builds a fresh wasm continuation
 * function for each await (a WebAssembly module compiled per call: ~0.3 ms, most of the cost
 * of a log hook's HTTP post); this one yields the promise to {@link LuaContext.resume}, which
 * waits for it and resumes the coroutine with `true, value…` or `false, error`.
 */
const AWAIT_LUA = `
local yield, error = coroutine.yield, error
local function finish(ok, ...)
  if ok then return ... end
  error((...), 0)
end
return function(self) return finish(yield(self)) end
`;

/** Puts {@link AWAIT_LUA} in place of wasmoon's `await` in the promise metatable. */
function replacePromiseAwait(g: LuaEngine['global']): void {
  const { lua } = g;
  const top = g.getTop();
  lua.lua_getfield(g.address, LUA_REGISTRYINDEX, 'js_promise');
  lua.lua_getfield(g.address, -1, '__index');
  if (lua.lua_type(g.address, -1) !== LuaType.Table) {
    throw new Error("wasmoon's promise metatable has no __index table to put await in");
  }
  g.loadString(AWAIT_LUA, '=sterna-await');
  if (lua.lua_pcallk(g.address, 0, 1, 0, 0, null) !== LuaReturn.Ok) {
    throw new Error(`Lua await prelude failed: ${g.indexToString(-1)}`);
  }
  lua.lua_setfield(g.address, -2, 'await');
  g.setTop(top);
}

/** The folder of a policy file, for `require`. */
export function policyDirOf(path: string): string {
  return dirname(resolve(path));
}

// The `file:line` of the running Lua function (luaL_where), without its trailing ': '.
function whereIs(lua: LuaEngine['global']['lua'], L: number): string | undefined {
  try {
    lua.luaL_where(L, 0);
    const text = lua.lua_tolstring(L, -1, null);
    lua.lua_settop(L, -2);
    const where = text.replace(/:\s*$/, '');
    return where === '' ? undefined : where;
  } catch {
    return undefined;
  }
}
