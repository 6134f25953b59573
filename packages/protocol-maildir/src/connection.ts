import {
  type Connection,
  errorText,
  type Message,
  makeResponse,
  type Outcome,
  type SendOptions,
  SternaError,
} from '@sterna/core';
import { expandMaildirPath } from './expand-path.js';
import { MaildirWriter, type MaildirWriterOptions } from './maildir-writer.js';
import type { CompiledTemplate } from './template.js';

/**
 * Seconds until a failed maildir write is tried again: the seed's "approximately 1 minute later",
 * outside the queue's retry schedule.
 */
export const MAILDIR_RETRY_AFTER = 60;

// RFC 3463 5.1.3: the address cannot be turned into a mailbox (here: into a safe path).
const BAD_MAILBOX = { class: 5, subject: 1, detail: 3 } as const;

function failed(recipient: string, reason: string): Outcome {
  return {
    recipient,
    kind: 'transient',
    response: makeResponse(400, `${recipient}: failed to write to maildir: ${reason}`, {
      enhanced: null,
    }),
    retryAfter: MAILDIR_RETRY_AFTER,
    peer: null,
  };
}

/**
 * A connection to "the maildir": it writes one copy of each message per recipient, at the path
 * the template gives for that recipient. Sends may overlap; writes that finish together share
 * their `new/` directory fsync.
 */
export class MaildirConnection implements Connection {
  readonly #template: CompiledTemplate;
  readonly #writer: MaildirWriter;
  readonly #inFlight = new Set<Promise<unknown>>();
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(template: CompiledTemplate, writer: MaildirWriterOptions) {
    this.#template = template;
    this.#writer = new MaildirWriter(writer);
  }

  /** Directory fsyncs issued so far (one per message without group commit). */
  get directorySyncs(): number {
    return this.#writer.syncer.issued;
  }

  /**
   * Writes the message for each recipient; one outcome per recipient.
   * @throws SternaError `STERNA_CONNECTION_CLOSED` after {@link close}: nothing is written then.
   */
  send(message: Message, options?: SendOptions): Promise<Outcome[]> {
    if (this.#closed) {
      return Promise.reject(
        new SternaError('STERNA_CONNECTION_CLOSED', 'maildir connection was used after close()'),
      );
    }
    const work = Promise.all(
      message.recipients.map((recipient) => this.#deliver(message, recipient, options?.signal)),
    );
    this.#inFlight.add(work);
    return work.finally(() => this.#inFlight.delete(work));
  }

  isUsable(): boolean {
    return !this.#closed;
  }

  /** Refuses new sends and waits for the writes in flight. Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= Promise.allSettled([...this.#inFlight]).then(() => this.#writer.drain());
    return this.#closing;
  }

  async #deliver(message: Message, recipient: string, signal?: AbortSignal): Promise<Outcome> {
    if (signal?.aborted) return failed(recipient, 'the delivery was aborted');
    const expanded = expandMaildirPath(this.#template, message, recipient);
    if (!expanded.ok) {
      if (expanded.kind === 'transient') return failed(recipient, expanded.reason);
      return {
        recipient,
        kind: 'permanent',
        response: makeResponse(
          550,
          `${recipient}: failed to write to maildir: ${expanded.reason}`,
          { enhanced: BAD_MAILBOX },
        ),
        peer: null,
      };
    }
    try {
      const id = await this.#writer.deliver(expanded.path, message.data, signal);
      return {
        recipient,
        kind: 'delivered',
        response: makeResponse(200, `${recipient}: wrote to maildir with id=${id}`, {
          enhanced: null,
        }),
        peer: null,
      };
    } catch (error) {
      return failed(recipient, errorText(error));
    }
  }
}
