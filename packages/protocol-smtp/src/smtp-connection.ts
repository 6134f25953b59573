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
import { type Candidate, peerOf } from './candidates.js';
import { deliverMessage } from './deliver-message.js';
import { type HandshakeSettings, handshake, type OpenSession } from './handshake.js';
import { formatAddr } from './host-spec.js';

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
  #inFlight = 0;
  /** The last session ended during a send (a 421, a timeout, a reset), not while idle. */
  #brokeMidSend = false;

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
    const run = this.#busy.then(async () => {
      this.#inFlight++;
      try {
        return await this.#send(message, options);
      } finally {
        this.#inFlight--;
      }
    });
    this.#busy = run.catch(() => undefined);
    return run;
  }

  /** Sends QUIT and closes; safe to call more than once. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const open = this.#open;
    this.#open = undefined;
    if (!open) return;
    // A transaction still in flight is cut off rather than followed by QUIT: nothing of it may
    // be written after close.
    if (this.#inFlight > 0) open.session.destroy(new Error('the connection was closed'));
    else await open.session.quit(Math.min(this.#path.rset_timeout, 5));
  }

  // A session opened while close() ran is not kept.
  #adopt(open: OpenSession): OpenSession | undefined {
    if (!this.#closed) {
      this.#open = open;
      return open;
    }
    open.session.destroy(new Error('the connection was closed'));
    return undefined;
  }

  #canReconnect(): boolean {
    // A session the peer ended while idle (its own idle timeout, a 421 before shutdown) is not a
    // failure to route around: the engine opens a fresh connection from the top of the plan.
    if (!this.#brokeMidSend) return false;
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
    // After an idle death the same host is fine; after a failure reconnect_strategy decides.
    const sameHost = this.#path.reconnect_strategy === 'ReconnectSameHost' || !this.#brokeMidSend;
    const queue =
      sameHost && previous
        ? [previous.candidate]
        : this.#path.reconnect_strategy === 'TerminateSession' && this.#brokeMidSend
          ? []
          : this.#remaining;
    const errors: string[] = [];
    while (queue.length > 0 && !this.#closed) {
      const candidate = queue === this.#remaining ? queue.shift()! : queue[0]!;
      try {
        const open = this.#adopt(await handshake(candidate, this.#settings));
        if (!open) break;
        this.#needsReset = false;
        return open;
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

  // The next untried host of the plan (try_next_host_on_transport_error).
  async #connectNext(): Promise<OpenSession | undefined> {
    while (this.#remaining.length > 0 && !this.#closed) {
      const candidate = this.#remaining.shift()!;
      try {
        return this.#adopt(await handshake(candidate, this.#settings));
      } catch (error) {
        this.#ctx.logger.debug('smtp candidate failed', { reason: errorText(error) });
      }
    }
    return undefined;
  }

  // The message's properties, which trace-smtp-client filters on, then MessageObtained.
  #traceMessage(message: Message): void {
    const trace = this.#settings.trace;
    if (!trace?.active) return;
    const first = message.recipients[0] ?? '';
    const text = (key: string) => {
      const value = message.getMeta(key);
      return typeof value === 'string' ? value : undefined;
    };
    trace.update({
      domain: first.slice(first.lastIndexOf('@') + 1),
      routing_domain: text('routing_domain'),
      tenant: text('tenant'),
      campaign: text('campaign'),
      mail_from: message.sender,
      rcpt_to: [...message.recipients],
    });
    trace.emit('MessageObtained');
  }

  async #send(message: Message, { signal }: SendOptions): Promise<Outcome[]> {
    if (signal.aborted || this.#closed) {
      return failAll(
        message.recipients,
        internalFailure('failed to send message: aborted before sending'),
      );
    }
    this.#deliveries++;
    this.#traceMessage(message);
    let open = await this.#session();
    if (typeof open === 'string') {
      return failAll(
        message.recipients,
        internalFailure(`failed to connect to any candidate hosts: ${open}`),
      );
    }
    let current = open;
    const onAbort = () => current.session.destroy(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      let result = await deliverMessage(
        open,
        message,
        this.#needsReset,
        this.#path,
        this.#siteName,
      );
      // A timeout or reset before anything was delivered: the next host gets the same message.
      for (
        let hop = 0;
        hop < 16 &&
        result.transportError &&
        this.#path.try_next_host_on_transport_error &&
        !signal.aborted &&
        !result.outcomes.some((o) => o.kind === 'delivered');
        hop++
      ) {
        open.session.destroy();
        const next = await this.#connectNext();
        if (!next) break;
        open = current = next;
        result = await deliverMessage(open, message, false, this.#path, this.#siteName);
      }
      this.#needsReset = result.needsReset;
      return result.outcomes;
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#brokeMidSend = !current.session.usable;
      this.#lastUsed = this.#ctx.clock.now();
    }
  }
}
