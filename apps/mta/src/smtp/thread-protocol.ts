import type { LogRecord, PeerAddress } from '@sterna/core';
import type { PolicyMessage } from '../policy/types.js';
import type { RecordContext } from '../queue/types.js';
import type { AcceptedMessage } from '../reception/receiver.js';
import type { EsmtpListenerParams } from './params.js';

/**
 * The messages between an ESMTP listener running in a worker thread and the main thread, which
 * keeps everything with state shared across sessions: the policy runtime, the spool, the queues
 * and the log sinks. Everything here is structured-clone data.
 */

/** `workerData` of a listener thread. */
export interface ListenerThreadInit {
  readonly params: EsmtpListenerParams;
  readonly tls: { readonly key: string; readonly cert: string };
  readonly nodeId: string;
  /** The reception events the policy defines (`hasEvent` must answer synchronously). */
  readonly events: readonly string[];
}

/** A request the thread makes and the main thread answers with a {@link ThreadResult}. */
export type ThreadRequest =
  | { readonly op: 'call'; readonly event: string; readonly args: readonly unknown[] }
  | {
      readonly op: 'callWithMessage';
      readonly event: string;
      readonly message: PolicyMessage;
      readonly args: readonly unknown[];
    }
  | {
      readonly op: 'accept';
      readonly messages: readonly AcceptedMessage[];
      readonly peer: PeerAddress | null;
    };

export type LoggerLevel = 'debug' | 'info' | 'warn' | 'error';

/** Thread → main. */
export type FromListenerThread =
  | { readonly t: 'ready'; readonly address: string }
  | { readonly t: 'failed'; readonly message: string }
  | { readonly t: 'request'; readonly id: number; readonly request: ThreadRequest }
  | { readonly t: 'record'; readonly record: LogRecord; readonly context?: RecordContext }
  | {
      readonly t: 'log';
      readonly level: LoggerLevel;
      readonly message: string;
      readonly fields?: Record<string, unknown>;
    }
  | { readonly t: 'closed' };

/** How a failed request crosses back: a policy rejection keeps its code and text. */
export interface ThreadError {
  readonly message: string;
  readonly rejection?: { readonly code: number; readonly text: string };
}

/** Main → thread. */
export type ToListenerThread =
  | { readonly t: 'result'; readonly id: number; readonly value: unknown }
  | { readonly t: 'result'; readonly id: number; readonly error: ThreadError }
  | { readonly t: 'close' };
