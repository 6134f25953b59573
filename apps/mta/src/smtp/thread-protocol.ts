import type { PeerAddress } from '@sterna/core';
import type { LogRecord } from '@sterna/core/engine';
import type {
  ClosedMessage,
  CloseMessage,
  ReplyMessage,
  RequestMessage,
} from '@sterna/lua/threads';
import type { RecordContext } from '../queue/types.js';
import type { AcceptedMessage } from '../reception/receiver.js';
import type { ServerTraceEvent } from '../trace/types.js';
import type { ListenerEventResult } from './listener-types.js';
import type { EsmtpListenerParams } from './params.js';

/**
 * The messages between an ESMTP listener running in a worker thread and the main thread, which
 * keeps everything with state shared across sessions: the policy runtime, the spool, the queues
 * and the log sinks. Requests, replies and closing are `@sterna/lua/threads`'; everything here
 * is structured-clone data.
 */

/** `workerData` of a listener thread. */
export interface ListenerThreadInit {
  readonly params: EsmtpListenerParams;
  readonly tls: { readonly key: string; readonly cert: string };
  readonly nodeId: string;
  /** The reception events the policy defines (`hasEvent` must answer synchronously). */
  readonly events: readonly string[];
}

/** What the thread asks of the main thread (a policy rejection keeps its code and text). */
export interface ListenerRequests {
  call(event: string, args: readonly unknown[]): ListenerEventResult;
  accept(messages: readonly AcceptedMessage[], peer: PeerAddress | null): void;
}

export type LoggerLevel = 'debug' | 'info' | 'warn' | 'error';

/** Thread → main. */
export type FromListenerThread =
  | { readonly t: 'ready'; readonly address: string }
  | { readonly t: 'failed'; readonly message: string }
  | RequestMessage
  | { readonly t: 'record'; readonly record: LogRecord; readonly context?: RecordContext }
  | {
      readonly t: 'log';
      readonly level: LoggerLevel;
      readonly message: string;
      readonly fields?: Record<string, unknown>;
    }
  | ClosedMessage
  /** A trace event, sent only while the main thread says someone traces. */
  | { readonly t: 'trace'; readonly event: ServerTraceEvent };

/** Main → thread: tracing turned on or off (the thread posts no trace events while off). */
export interface TraceSwitch {
  readonly t: 'trace';
  readonly on: boolean;
}

/** Main → thread. */
export type ToListenerThread = ReplyMessage | CloseMessage | TraceSwitch;
