/**
 * The entry of a pool worker: one policy context — a Lua VM, or a TypeScript/JavaScript module
 * (by the policy file's extension) — with the policy loaded. It answers work requests from the
 * main thread and proxies the policy's host calls (configuration, DNS, output) back to it.
 * Runs inside `worker_threads`; not part of the public API.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { errorText } from '@sterna/core';
import type { CallOutcome, PolicyContext } from '../context/policy-context.js';
import type { ContextHost } from '../host/context-host.js';
import type { DaemonCalls } from '../host/host-calls.js';
import { isJsPolicy } from '../js/policy-file.js';
import { stripUnchangedData } from '../message/message-snapshot.js';
import { Requester } from '../threads/requests.js';
import type {
  FromWorker,
  ToWorker,
  WorkerInit,
  WorkerStats,
  WorkRequest,
} from './worker-protocol.js';

const port = parentPort!;
const init = workerData as WorkerInit;
const started = init.started ? new Int32Array(init.started) : undefined;

function post(message: FromWorker): void {
  port.postMessage(message);
}

// Daemon host calls go to the main thread; the Lua side awaits their promises.
const requests = new Requester<DaemonCalls>(post);

const host: ContextHost = {
  ask: (name, args) => requests.ask(name, ...args),
  tell: (name, args) => post({ t: 'tell', op: name, args }),
};

// Each engine is imported only when its policy needs it: a JavaScript worker never compiles
// the Lua VM, a Lua worker never loads tsx.
async function createContext(): Promise<PolicyContext> {
  if (isJsPolicy(init.policy)) {
    const { JsContext, installImportFallback } = await import('../js/index.js');
    if (init.importFallback !== undefined) installImportFallback(init.importFallback);
    // A promise the policy dropped must not end the worker (and the calls it is serving).
    process.on('unhandledRejection', (reason) => {
      host.tell('log', [
        'error',
        `${init.policy}: unhandled promise rejection: ${errorText(reason)}`,
      ]);
    });
    return new JsContext(host);
  }
  const { LuaContext, policyDirOf } = await import('../context/lua-context.js');
  return LuaContext.create(host, {
    memoryMax: init.memoryMax,
    policyDir: policyDirOf(init.policy),
  });
}

const context = await createContext();

function run(work: WorkRequest, deadline: number) {
  switch (work.kind) {
    case 'call':
      return context.call(work.event, work.args, deadline);
    case 'construct':
      return context.construct(work.event, work.args, deadline);
    case 'method':
      return context.callMethod(work.object, work.method, work.args, deadline);
    case 'release':
      return context
        .release(work.object)
        .then((): CallOutcome => ({ status: 'ok', values: [], messages: [] }));
    case 'stats':
      return stats(work.collect === true);
  }
}

// A full collection before measuring makes leak checks exact; V8's gc() is exposed on demand.
let v8gc: (() => void) | undefined;
async function stats(collect: boolean) {
  if (collect) {
    await context.collect();
    if (!v8gc) {
      setFlagsFromString('--expose-gc');
      v8gc = runInNewContext('gc') as () => void;
    }
    v8gc();
  }
  return { ...context.stats(), jsHeapBytes: process.memoryUsage().heapUsed };
}

port.on('message', (message: ToWorker) => {
  if (message.t === 'reply') {
    requests.settle(message);
    return;
  }
  for (const item of message.items) {
    if (started) Atomics.store(started, 0, item.id);
    run(item.work, item.deadline).then(
      (outcome) => {
        const work = item.work;
        if ('status' in outcome && outcome.status === 'ok' && 'args' in work) {
          stripUnchangedData(work.args, outcome.messages);
        }
        finish(item.id, outcome);
      },
      (error: unknown) => {
        finish(item.id, { status: 'error', message: String(error) });
        if (context.broken) {
          // Report what finished, then exit: the pool replaces this context.
          flush();
          process.exit(1);
        }
      },
    );
  }
});

// Results are posted in batches: one message per turn of the event loop, not per call.
let results: { id: number; outcome: CallOutcome | WorkerStats }[] = [];
function finish(id: number, outcome: CallOutcome | WorkerStats): void {
  if (results.length === 0) setImmediate(flush);
  results.push({ id, outcome });
}
function flush(): void {
  const batch = results;
  results = [];
  try {
    post({ t: 'done', results: batch });
  } catch {
    // A result that cannot be cloned must fail its own call, not the worker and its neighbours.
    for (const r of batch) {
      try {
        post({ t: 'done', results: [r] });
      } catch (error) {
        const message = `the result cannot leave the policy context: ${String(error)}`;
        post({ t: 'done', results: [{ id: r.id, outcome: { status: 'error', message } }] });
      }
    }
  }
}

// Starting the thread and compiling the VM (or loading tsx) can take any time on a busy machine; the load
// deadline (here and the main thread's backstop) covers running the policy's top level only.
post({ t: 'loading' });
const loaded = await context.load(init.policy, Date.now() + init.loadDeadlineMs);
if (loaded.status === 'ok') post({ t: 'ready', events: await context.events() });
else if (loaded.status === 'timeout') {
  post({
    t: 'loadError',
    message: `${init.policy}: loading did not finish within ${init.loadDeadlineMs} ms`,
  });
} else {
  const text = loaded.status === 'error' ? loaded.message : `unexpected status ${loaded.status}`;
  post({ t: 'loadError', message: text });
}
