import type { EgressPathConfig, TracedSession } from '@sterna/core';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import { useFastDataStream } from './data-stream.js';
import { type SmtpTimeoutError, Transcript } from './transcript.js';

/** A nodemailer error: `code` (`EENVELOPE`, `EMESSAGE`, `ETLS`, …), the reply, the command. */
export interface ClientError extends Error {
  code?: string;
  response?: string;
  responseCode?: number;
  command?: string;
  timeoutType?: string;
  rejectedErrors?: ClientError[];
  recipient?: string;
  /** For a socket error: the system call that failed (`bind`, `connect`) and its code. */
  syscall?: string;
  originalCode?: string;
}

/** What a nodemailer call left: its value, or why it failed. */
export type Settled<T> =
  | { value: T; error?: undefined }
  | { value?: undefined; error: ClientError };

/** The result of nodemailer's `send()`. */
export type SendInfo = SMTPConnection.SentMessageInfo;

/**
 * One nodemailer `SMTPConnection` with what the driver needs around it: calls that always settle
 * (nodemailer drops the callback of a send in flight when the connection is closed), a
 * {@link Transcript} for per-command timeouts and replies, and a flag that turns false as soon
 * as the session ends for any reason (a 421 or a close while idle included).
 */
export class SmtpSession {
  /** The nodemailer connection. */
  readonly client: SMTPConnection;
  /** Commands and replies of the current transaction, and the per-command timers. */
  readonly transcript: Transcript;
  #ended = false;
  #reason: Error | undefined;
  #lastError: ClientError | undefined;
  readonly #waiters = new Set<() => void>();

  constructor(options: SMTPConnection.Options, path: EgressPathConfig, trace?: TracedSession) {
    this.transcript = new Transcript(path, (error) => this.destroy(error), trace);
    this.client = new SMTPConnection({
      ...options,
      logger: this.transcript.logger,
      transactionLog: true,
    });
    useFastDataStream(this.client);
    // nodemailer emits 'error' before failing the call in flight; without a listener it throws.
    this.client.on('error', (error: ClientError) => {
      this.#lastError ??= error;
    });
    this.client.on('end', () => {
      // Whatever ended it (QUIT, the peer, close()), nodemailer says 'end' once.
      if (trace?.active) trace.emit('Closed');
      this.#ended = true;
      this.transcript.stop();
      for (const wake of [...this.#waiters]) wake();
    });
  }

  /** False once the session ended, whatever ended it. */
  get usable(): boolean {
    return !this.#ended && !this.client.destroyed;
  }

  /** Why the driver ended the session (a timeout, an abort, a close), if it did. */
  get reason(): Error | undefined {
    return this.#reason;
  }

  /** The command timeout that ended the session, if one did. */
  get timedOut(): SmtpTimeoutError | undefined {
    return this.transcript.timedOut;
  }

  /**
   * Runs one nodemailer call and settles with its result, or with the reason the session ended
   * first. An ending is looked at one turn later, because nodemailer closes the connection
   * before it calls back with the error that closed it.
   */
  call<T>(
    start: (done: (error: Error | null | undefined, value?: T) => void) => void,
  ): Promise<Settled<T>> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = (result: Settled<T>) => {
        if (settled) return;
        settled = true;
        this.#waiters.delete(onEnd);
        resolve(result);
      };
      const onEnd = () => {
        setImmediate(() => finish({ error: this.#endError() }));
      };
      if (!this.usable) {
        onEnd();
        return;
      }
      this.#waiters.add(onEnd);
      start((error, value) => {
        if (error) finish({ error: this.#reason ?? (error as ClientError) });
        else finish({ value: value as T });
      });
    });
  }

  /** Opens the connection (connect, banner, EHLO, STARTTLS as configured). */
  connect(): Promise<Settled<void>> {
    return this.call<void>((done) => this.client.connect((error) => done(error)));
  }

  /** Sends one message; settles with nodemailer's result or its error. */
  send(envelope: SMTPConnection.Envelope, data: Buffer): Promise<Settled<SendInfo>> {
    this.transcript.beginTransaction(data);
    return this.call<SendInfo>((done) => this.client.send(envelope, data, done));
  }

  /** RSET; true when the peer took it. A failed RSET ends the session. */
  async reset(): Promise<boolean> {
    const result = await this.call<boolean>((done) => this.client.reset(done));
    if (result.error) this.destroy(new Error(`RSET failed: ${result.error.message}`));
    return result.value === true;
  }

  /** Ends the session at once; calls in flight settle with `reason`. */
  destroy(reason: Error = new Error('connection closed')): void {
    this.#reason ??= reason;
    this.transcript.stop();
    this.client.close();
  }

  /** Sends QUIT and waits at most `seconds` for the session to end. Never rejects. */
  async quit(seconds: number): Promise<void> {
    if (this.usable) {
      let wake: () => void = () => {};
      const ended = new Promise<void>((resolve) => {
        wake = resolve;
      });
      this.#waiters.add(wake);
      const timer = setTimeout(wake, seconds * 1000);
      this.client.quit();
      await ended;
      clearTimeout(timer);
      this.#waiters.delete(wake);
    }
    this.destroy();
  }

  #endError(): ClientError {
    return (this.#reason ??
      this.#lastError ??
      new Error('connection closed by the peer')) as ClientError;
  }
}
