import type { MetaValue } from '@sterna/core';
import type { SMTPServerSession } from 'smtp-server';
import type { AcceptedMessage } from '../reception/receiver.js';
import { queueOf } from '../reception/receiver.js';
import { type ServerTraceSink, serverEvent } from '../trace/hub.js';
import type { ServerTracePayload } from '../trace/types.js';
import type { EsmtpListenerParams } from './params.js';
import { connectionMeta } from './session-meta.js';

/** The entry smtp-server hands its logger (bunyan style), with the connection id. */
interface LogEntry {
  readonly tnx?: string;
  readonly cid?: string;
}

type LogFn = (entry: LogEntry, ...args: unknown[]) => void;

/** The logger smtp-server accepts (its `logger` option). */
type ServerLogger = Record<'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal', LogFn>;

const ignore: LogFn = () => undefined;

/**
 * Feeds `trace-smtp-server`: the commands and replies of every session (from smtp-server's own
 * log, keyed by session id), its opening and closing, the data read, the policy callbacks and
 * each message's disposition. Every call returns at once while nobody traces.
 */
export class ServerTraceTap {
  readonly #params: EsmtpListenerParams;
  readonly #sink: ServerTraceSink | undefined;
  // Open sessions by id: smtp-server's log names a session only by it.
  readonly #sessions = new Map<string, SMTPServerSession>();
  /** What to give smtp-server as `logger` (false: no logging at all when nothing traces). */
  readonly logger: ServerLogger | false;

  constructor(params: EsmtpListenerParams, sink: ServerTraceSink | undefined) {
    this.#params = params;
    this.#sink = sink;
    this.logger = sink
      ? {
          trace: ignore,
          info: ignore,
          warn: ignore,
          error: ignore,
          fatal: ignore,
          debug: (entry, _label, line) => {
            if (!sink.active) return;
            const session = entry.cid ? this.#sessions.get(entry.cid) : undefined;
            if (!session) return;
            if (entry.tnx === 'command') this.#emit(session, { Read: `${String(line)}\r\n` });
            else if (entry.tnx === 'send') this.#emit(session, { Write: `${String(line)}\r\n` });
          },
        }
      : false;
  }

  /** A session opened (before its banner). */
  opened(session: SMTPServerSession): void {
    if (!this.#sink) return;
    this.#sessions.set(session.id, session);
    if (this.#sink.active) this.#emit(session, 'Connected');
  }

  /** A session closed. */
  closed(session: SMTPServerSession): void {
    if (!this.#sink) return;
    if (this.#sink.active && this.#sessions.has(session.id)) this.#emit(session, 'Closed');
    this.#sessions.delete(session.id);
  }

  /** The message data as read, after the final dot. */
  data(session: SMTPServerSession, chunks: readonly Buffer[]): void {
    if (!this.#sink?.active) return;
    this.#emit(session, { Read: Buffer.concat(chunks).toString('latin1') });
  }

  /** A policy event ran for the session: what it returned, or why it failed. */
  callback(session: SMTPServerSession, name: string, result: unknown, error?: unknown): void {
    if (!this.#sink?.active) return;
    const text =
      error === undefined ? null : error instanceof Error ? error.message : String(error);
    this.#emit(session, {
      Callback: { name, result: error === undefined ? plain(result) : null, error: text },
    });
  }

  /** A received message was spooled and queued. */
  disposition(session: SMTPServerSession, message: AcceptedMessage): void {
    if (!this.#sink?.active) return;
    this.#emit(session, {
      MessageDisposition: {
        relay: true,
        log_arf: 'Ignore',
        log_oob: 'Ignore',
        queue: queueOf({ recipients: message.recipients, meta: message.meta }),
        meta: { ...(message.meta as Record<string, MetaValue>) },
        sender: message.sender,
        recipient:
          message.recipients.length === 1 ? message.recipients[0]! : [...message.recipients],
        id: message.id,
        was_arf_or_oob: false,
        will_enqueue: true,
      },
    });
  }

  #emit(session: SMTPServerSession, payload: ServerTracePayload): void {
    this.#sink?.publish(serverEvent(connectionMeta(this.#params, session), payload));
  }
}

// What a handler returned, as JSON can carry it (a table, a string; never a function).
function plain(value: unknown): unknown {
  if (value === undefined) return null;
  try {
    return JSON.parse(JSON.stringify(value)) ?? null;
  } catch {
    return String(value);
  }
}
