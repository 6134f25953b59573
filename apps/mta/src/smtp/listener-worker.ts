import { parentPort, workerData } from 'node:worker_threads';
import { errorText, type Logger } from '@sterna/core';
import { ownedBytes } from '@sterna/core/engine';
import { isReply, onCloseRequest, Requester } from '@sterna/lua/threads';
import type { ServerTraceSink } from '../trace/hub.js';
import { type EsmtpListener, startEsmtpListener } from './listener.js';
import type { ListenerPolicy } from './listener-types.js';
import type {
  FromListenerThread,
  ListenerRequests,
  ListenerThreadInit,
  LoggerLevel,
  ToListenerThread,
} from './thread-protocol.js';

// The entry of an ESMTP listener's worker thread: the SMTP conversation, its sockets and the
// trace headers run here; policy events, the spool, the queues and the log sinks stay on the
// main thread and are reached by request (thread-protocol.ts).

const port = parentPort;
if (!port) throw new Error('listener-worker must run in a worker thread');
const init = workerData as ListenerThreadInit;

const post = (message: FromListenerThread) => port.postMessage(message);

const requests = new Requester<ListenerRequests>(post);

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
const policy: ListenerPolicy = {
  hasEvent: (event) => events.has(event),
  call: (event, args) => requests.ask('call', event, args),
};

let listener: EsmtpListener | undefined;

// Turned on and off by the main thread, which filters and fans the events out.
const trace: ServerTraceSink = {
  active: false,
  publish: (event) => post({ t: 'trace', event }),
};

port.on('message', (message: ToListenerThread) => {
  if (onCloseRequest(message, port, async () => listener?.close())) return;
  if (message.t === 'trace') {
    (trace as { active: boolean }).active = message.on;
    return;
  }
  // A rejection comes back as an Error with the `code` and `text` the listener replies with.
  if (isReply(message)) requests.settle(message);
});

startEsmtpListener(init.params, {
  policy,
  receiver: {
    // Posting a view clones its whole buffer: a message under 4 KiB is a view into Node's
    // shared Buffer pool, so each would carry 8 KiB across.
    accept: (messages, peer) =>
      requests.ask(
        'accept',
        messages.map((m) => {
          const data = ownedBytes(m.data);
          return data === m.data ? m : { ...m, data };
        }),
        peer,
      ),
  },
  logs: {
    write: (record, context) => post({ t: 'record', record, ...(context ? { context } : {}) }),
  },
  nodeId: init.nodeId,
  log,
  tls: init.tls,
  trace,
}).then(
  (started) => {
    listener = started;
    post({ t: 'ready', address: started.address });
  },
  (error: unknown) => post({ t: 'failed', message: errorText(error) }),
);
