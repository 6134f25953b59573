import { parentPort, workerData } from 'node:worker_threads';
import { errorText, type Logger } from '@sterna/core';
import type { PolicyMessage, ReceptionPolicy } from '../policy/types.js';
import { type EsmtpListener, startEsmtpListener } from './listener.js';
import type {
  FromListenerThread,
  ListenerThreadInit,
  LoggerLevel,
  ThreadRequest,
  ToListenerThread,
} from './thread-protocol.js';

// The entry of an ESMTP listener's worker thread: the SMTP conversation, its sockets and the
// trace headers run here; policy events, the spool, the queues and the log sinks stay on the
// main thread and are reached by request (thread-protocol.ts).

const port = parentPort;
if (!port) throw new Error('listener-worker must run in a worker thread');
const init = workerData as ListenerThreadInit;

const post = (message: FromListenerThread) => port.postMessage(message);

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}
const pending = new Map<number, Pending>();
let nextId = 1;

function request(req: ThreadRequest): Promise<unknown> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    post({ t: 'request', id, request: req });
  });
}

const logAt =
  (level: LoggerLevel) =>
  (message: string, fields?: Record<string, unknown>): void => {
    try {
      post({ t: 'log', level, message, ...(fields ? { fields } : {}) });
    } catch {
      // A field that cannot be cloned (a function, a socket) must not fail the session.
      post({ t: 'log', level, message, fields: { uncloneable: Object.keys(fields ?? {}) } });
    }
  };
const log: Logger = {
  debug: logAt('debug'),
  info: logAt('info'),
  warn: logAt('warn'),
  error: logAt('error'),
};

const events = new Set(init.events);
const policy: ReceptionPolicy = {
  hasEvent: (event) => events.has(event),
  call: (event, args) => request({ op: 'call', event, args }),
  callWithMessage: (event, message, args) =>
    request({ op: 'callWithMessage', event, message, args }) as Promise<{
      result: unknown;
      message: PolicyMessage;
    }>,
};

let listener: EsmtpListener | undefined;

port.on('message', (message: ToListenerThread) => {
  if (message.t === 'close') {
    const closing = listener ? listener.close() : Promise.resolve();
    void closing.finally(() => post({ t: 'closed' }));
    return;
  }
  const waiting = pending.get(message.id);
  if (!waiting) return;
  pending.delete(message.id);
  if ('error' in message) {
    const { rejection } = message.error;
    // A rejection keeps the `code` and `text` the listener turns into its reply.
    waiting.reject(
      rejection
        ? Object.assign(new Error(rejection.text), rejection)
        : new Error(message.error.message),
    );
  } else {
    waiting.resolve(message.value);
  }
});

startEsmtpListener(init.params, {
  policy,
  receiver: {
    accept: (messages, peer) => request({ op: 'accept', messages, peer }) as Promise<void>,
  },
  logs: {
    write: (record, context) => post({ t: 'record', record, ...(context ? { context } : {}) }),
  },
  nodeId: init.nodeId,
  log,
  tls: init.tls,
}).then(
  (started) => {
    listener = started;
    post({ t: 'ready', address: started.address });
  },
  (error: unknown) => post({ t: 'failed', message: errorText(error) }),
);
