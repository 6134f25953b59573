import {
  type Connection,
  type DriverContext,
  type EgressPathConfig,
  errorText,
  failAll,
  internalFailure,
  type Message,
  type Outcome,
  type PeerAddress,
  type SendOptions,
  SternaError,
  type TlsInfo,
} from '@sterna/core';
import type { Candidate } from './candidates.js';
import { type HandshakeSettings, handshake, type OpenSession } from './handshake.js';
import { formatAddr } from './host-spec.js';
import type { SmtpReply } from './reply-parser.js';
import { runTransaction } from './transaction.js';

const settleReply = (p: Promise<SmtpReply>): Promise<SmtpReply | undefined> =>
  p.catch(() => undefined);

/** The peer of a candidate, as logged in `peer_address`. */
export function peerOf(candidate: Candidate): PeerAddress {
  return { name: candidate.name, addr: formatAddr(candidate.address, candidate.port) };
}

/**
 * An SMTP session to one site, reused for message after message. After a 421, a timeout or a
 * dropped socket, `reconnect_strategy` decides whether the next message may reconnect (to the
 * next candidate host, or the same one) or the connection is done (`isUsable()` false).
 */
export class SmtpConnection implements Connection {
  #open: OpenSession | undefined;
  readonly #remaining: Candidate[];
  readonly #path: EgressPathConfig;
  readonly #ctx: DriverContext;
  readonly #siteName: string;
  readonly #settings: HandshakeSettings;
  #closed = false;
  #deliveries = 0;
  #lastUsed: number;
  #needsReset = false;
  #busy: Promise<unknown> = Promise.resolve();

  constructor(
    open: OpenSession,
    remaining: Candidate[],
    siteName: string,
    path: EgressPathConfig,
    ctx: DriverContext,
    settings: HandshakeSettings,
  ) {
    this.#open = open;
    this.#remaining = remaining;
    this.#siteName = siteName;
    this.#path = path;
    this.#ctx = ctx;
    this.#settings = settings;
    this.#lastUsed = ctx.clock.now();
  }

  /** The host currently connected to, or null between sessions. */
  get peer(): PeerAddress | null {
    return this.#open ? peerOf(this.#open.candidate) : null;
  }

  /** TLS facts of the current session, when it is encrypted. */
  get tls(): TlsInfo | undefined {
    return this.#open?.tls;
  }

  /** Messages sent over this connection (all sessions). */
  get deliveries(): number {
    return this.#deliveries;
  }

  /**
   * False once closed, after `max_deliveries_per_connection` messages, after `idle_timeout`
   * without work, or when the session broke and `reconnect_strategy` allows no new one.
   */
  isUsable(): boolean {
    if (this.#closed) return false;
    if (this.#deliveries >= this.#path.max_deliveries_per_connection) return false;
    if (this.#ctx.clock.now() - this.#lastUsed > this.#path.idle_timeout * 1000) return false;
    if (this.#open?.session.usable) return true;
    return this.#canReconnect();
  }

  /** Delivers one message; one outcome per recipient. */
  send(message: Message, options: SendOptions): Promise<Outcome[]> {
    if (this.#closed) {
      return Promise.reject(
        new SternaError(
          'STERNA_CONNECTION_CLOSED',
          `connection to ${this.#siteName} was used after close()`,
        ),
      );
    }
    // One transaction at a time on a session, whatever the caller does.
    const run = this.#busy.then(() => this.#send(message, options));
    this.#busy = run.catch(() => undefined);
    return run;
  }

  /** Sends QUIT and closes; safe to call more than once. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const open = this.#open;
    this.#open = undefined;
    if (open) await open.session.quit(Math.min(this.#path.rset_timeout, 5));
  }

  #canReconnect(): boolean {
    switch (this.#path.reconnect_strategy) {
      case 'TerminateSession':
        return false;
      case 'ReconnectSameHost':
        return this.#open !== undefined;
      default:
        return this.#remaining.length > 0;
    }
  }

  async #session(): Promise<OpenSession | string> {
    if (this.#open?.session.usable) return this.#open;
    const previous = this.#open;
    if (previous) void previous.session.quit(1);
    this.#open = undefined;
    const queue =
      this.#path.reconnect_strategy === 'ReconnectSameHost' && previous
        ? [previous.candidate]
        : this.#path.reconnect_strategy === 'TerminateSession'
          ? []
          : this.#remaining;
    const errors: string[] = [];
    while (queue.length > 0 && !this.#closed) {
      const candidate = queue === this.#remaining ? queue.shift()! : queue[0]!;
      try {
        this.#open = await handshake(candidate, this.#settings);
        this.#needsReset = false;
        return this.#open;
      } catch (error) {
        errors.push(
          `${candidate.name} ${formatAddr(candidate.address, candidate.port)}: ${errorText(error)}`,
        );
        if (queue !== this.#remaining) break;
      }
    }
    return errors.length > 0
      ? errors.join(', ')
      : 'the session ended and reconnect_strategy allows no other';
  }

  async #send(message: Message, { signal }: SendOptions): Promise<Outcome[]> {
    if (signal.aborted || this.#closed) {
      return failAll(
        message.recipients,
        internalFailure('failed to send message: aborted before sending'),
      );
    }
    this.#deliveries++;
    const open = await this.#session();
    if (typeof open === 'string') {
      return failAll(
        message.recipients,
        internalFailure(`failed to connect to any candidate hosts: ${open}`),
      );
    }
    const onAbort = () => open.session.destroy(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (this.#needsReset) {
        const reply = await settleReply(open.session.command('RSET\r\n', this.#path.rset_timeout));
        if (reply?.code !== 250) {
          open.session.destroy(new Error('RSET failed'));
          const why = reply ? reply.raw : 'no reply';
          return failAll(
            message.recipients,
            internalFailure(`failed to send message: RSET failed: ${why}`),
          );
        }
      }
      this.#needsReset = false;
      const outcomes = new Map<string, Outcome>();
      let pending = [...message.recipients];
      const batch = Math.max(1, this.#path.max_recipients_per_batch);
      // Each round decides at least one recipient, so this ends after at most one round each.
      for (let round = 0; pending.length > 0 && round <= message.recipients.length; round++) {
        const recipients = pending.slice(0, batch);
        pending = pending.slice(batch);
        const result = await runTransaction(open, message, recipients, {
          path: this.#path,
          siteName: this.#siteName,
          peer: peerOf(open.candidate),
          tls: open.tls,
        });
        const retry = new Set(
          result.fatal || result.tooMany.length === recipients.length ? [] : result.tooMany,
        );
        for (const outcome of result.outcomes) {
          if (!retry.has(outcome.recipient)) outcomes.set(outcome.recipient, outcome);
        }
        pending = [...retry, ...pending];
        if (result.dirty && !result.fatal) {
          if (!this.#path.enable_rset) {
            // Without RSET a refused envelope leaves the peer mid-transaction: start afresh.
            open.session.destroy(new Error('the envelope failed and enable_rset is false'));
          } else if (pending.length > 0) {
            const reply = await settleReply(
              open.session.command('RSET\r\n', this.#path.rset_timeout),
            );
            if (reply?.code !== 250) open.session.destroy(new Error('RSET failed'));
          } else {
            this.#needsReset = true;
          }
        }
        if (result.fatal || !open.session.usable) {
          open.session.destroy();
          const why = internalFailure(
            'failed to send message: the session ended before this recipient was tried',
          );
          for (const r of pending) if (!outcomes.has(r)) outcomes.set(r, { recipient: r, ...why });
          break;
        }
      }
      return message.recipients.map((r) => outcomes.get(r)!);
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#lastUsed = this.#ctx.clock.now();
    }
  }
}
