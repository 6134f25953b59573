import { type EgressPathConfig, formatDuration, type TracedSession } from '@sterna/core';

/** Seconds as KumoMTA's texts show them: `5s`, `5m`, or `300ms` below a second. */
export function formatTimeout(seconds: number): string {
  return seconds < 1 ? `${Math.round(seconds * 1000)}ms` : formatDuration(seconds);
}

/** One command of the session and the reply it got (`undefined` while none came). */
export interface Exchange {
  /** The command as written on the wire, with its CRLF: `RCPT TO:<a@b>\r\n`, `.\r\n`. */
  readonly command: string;
  reply: string | undefined;
}

/** No reply came within the command's timeout. */
export class SmtpTimeoutError extends Error {
  /** The command waited on, with its CRLF. */
  readonly command: string;
  readonly seconds: number;
  constructor(command: string, seconds: number) {
    super(`Timed Out waiting ${formatTimeout(seconds)} for response to ${command.trimEnd()}`);
    this.name = 'SmtpTimeoutError';
    this.command = command;
    this.seconds = seconds;
  }
}

interface Pending {
  readonly exchange: Exchange;
  readonly seconds: number;
  /** The TLS handshake after a 220 to STARTTLS: done when the next command goes out. */
  readonly untilNextCommand?: boolean;
}

/** The entry shape nodemailer hands its logger (bunyan style: fields first, then the text). */
interface LogEntry {
  readonly tnx?: string;
  readonly discarded?: number;
  readonly localAddress?: string;
  readonly localPort?: number;
}

type LogFn = (entry: LogEntry, message?: unknown, ...args: unknown[]) => void;

/** The logger nodemailer's `SMTPConnection` accepts (its `logger` option). */
export interface TapLogger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
}

const ignore: LogFn = () => undefined;

/**
 * Follows one nodemailer session through its transaction log (`transactionLog: true` hands every
 * command and every reply to the logger, in order): pairs each command with its reply, runs
 * KumoMTA's timeout for each command awaited (`rcpt_to_timeout`, `data_dot_timeout`, …), and
 * notices bytes a peer sent between its 220 to STARTTLS and the handshake. nodemailer itself
 * only has one inactivity timeout and does not say which reply went with which command.
 */
export class Transcript {
  /** Every exchange of the current transaction (since {@link beginTransaction}). */
  exchanges: Exchange[] = [];
  /** The last EHLO/LHLO reply: what the peer offered. */
  lastHello: string | undefined;
  /** The peer sent bytes after its 220 to STARTTLS, before the handshake. */
  injected = false;
  /** Set when a command got no reply in time. */
  timedOut: SmtpTimeoutError | undefined;
  /** The nodemailer logger that feeds this transcript. */
  readonly logger: TapLogger;

  readonly #path: EgressPathConfig;
  readonly #onTimeout: (error: SmtpTimeoutError) => void;
  readonly #trace: TracedSession | undefined;
  /** The message data of the transaction, written (for the trace) once DATA is answered 354. */
  #data: Buffer | undefined;
  #pending: Pending[] = [];
  #accepted = 0;
  #timer: NodeJS.Timeout | undefined;
  /** When the timer fires (ms since the epoch). */
  #timerAt = 0;
  /** When the reply to the head command is due (ms since the epoch). */
  #deadline: number | undefined;

  constructor(
    path: EgressPathConfig,
    onTimeout: (error: SmtpTimeoutError) => void,
    trace?: TracedSession,
  ) {
    this.#path = path;
    this.#onTimeout = onTimeout;
    this.#trace = trace;
    this.logger = {
      trace: ignore,
      info: trace ? (entry, message) => this.#traceInfo(trace, entry, String(message)) : ignore,
      error: ignore,
      fatal: ignore,
      debug: (entry, message) => {
        if (entry.tnx === 'client') {
          if (this.#trace?.active) this.#trace.emit({ Write: `${String(message)}\r\n` });
          this.#command(String(message));
        } else if (entry.tnx === 'server') {
          if (this.#trace?.active) {
            // nodemailer joins a multi-line reply with LF; the wire had CRLF.
            this.#trace.emit({ Read: `${String(message).replace(/\r?\n/g, '\r\n')}\r\n` });
          }
          this.#reply(String(message));
        }
      },
      // nodemailer drops (and warns about) what came after the 220 to STARTTLS.
      warn: (entry) => {
        if (typeof entry.discarded === 'number' && entry.discarded > 0) this.injected = true;
      },
    };
  }

  /** Starts a new transaction's record; `data` is kept for the trace while someone watches. */
  beginTransaction(data?: Buffer): void {
    this.exchanges = [];
    this.#accepted = 0;
    this.#data = this.#trace?.active ? data : undefined;
  }

  // nodemailer's network notes: the connection made (and from where), TLS, the close.
  #traceInfo(trace: TracedSession, entry: LogEntry, message: string): void {
    if (!trace.active) return;
    if (entry.tnx === 'network' && message.includes('established')) {
      if (entry.localAddress && entry.localPort !== undefined) {
        const local = entry.localAddress.replace(/^::ffff:/, '');
        const host = local.includes(':') ? `[${local}]` : local;
        trace.update({ source_address: `${host}:${entry.localPort}` });
      }
      trace.emit('Connected');
    } else if (entry.tnx === 'smtp' && message.includes('STARTTLS')) {
      trace.emit({ Diagnostic: { level: 'INFO', message } });
    }
  }

  /** The reply to `RCPT TO:<recipient>` in this transaction, if one came. */
  rcptReply(recipient: string): string | undefined {
    const command = `RCPT TO:<${recipient}>\r\n`;
    return this.exchanges.find((e) => e.command === command)?.reply;
  }

  /** The replies after the data, in order (one per accepted recipient for LMTP). */
  dataReplies(): string[] {
    return this.exchanges.filter((e) => e.command === '.\r\n' && e.reply).map((e) => e.reply!);
  }

  /** The command a reply answered in this transaction (the last with that reply). */
  commandOf(reply: string): string | undefined {
    return this.exchanges.findLast((e) => e.reply === reply)?.command;
  }

  /** Stops the timers; nothing more is awaited. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#deadline = undefined;
    this.#pending = [];
  }

  #timeoutOf(command: string): number {
    const path = this.#path;
    const verb = command.slice(0, 4).toUpperCase();
    switch (verb) {
      case 'MAIL':
        return path.mail_from_timeout;
      case 'RCPT':
        return path.rcpt_to_timeout;
      case 'DATA':
        return path.data_timeout;
      case 'STAR':
        return path.starttls_timeout;
      case 'AUTH':
        return path.auth_timeout;
      case 'RSET':
        return path.rset_timeout;
      case 'QUIT':
        return Math.min(path.rset_timeout, 5);
      default:
        return command.startsWith('.') ? path.data_dot_timeout : path.ehlo_timeout;
    }
  }

  #push(command: string, seconds: number, untilNextCommand = false): void {
    const exchange: Exchange = { command, reply: undefined };
    this.exchanges.push(exchange);
    this.#pending.push({ exchange, seconds, untilNextCommand });
    if (this.#pending.length === 1) this.#arm();
  }

  #command(text: string): void {
    if (this.#pending[0]?.untilNextCommand) {
      this.#pending.shift();
      this.#arm();
    }
    const command = `${text}\r\n`;
    this.#push(command, this.#timeoutOf(command));
  }

  #reply(text: string): void {
    const head = this.#pending.shift();
    // The greeting, or a reply nobody asked for: nodemailer deals with those itself.
    if (!head) return;
    head.exchange.reply = text;
    const verb = head.exchange.command.slice(0, 4).toUpperCase();
    const ok = text.startsWith('2');
    if (verb === 'EHLO' || verb === 'LHLO') this.lastHello = text;
    if (verb === 'RCPT' && ok) this.#accepted++;
    if (verb === 'DATA' && text.startsWith('3') && this.#accepted > 0) {
      if (this.#data) this.#trace?.emit({ Write: this.#data.toString('latin1') });
      this.#data = undefined;
      // The data goes out now; its reply (one per accepted recipient for LMTP) is awaited.
      const replies = this.#path.use_lmtp ? this.#accepted : 1;
      for (let i = 0; i < replies; i++) this.#push('.\r\n', this.#path.data_dot_timeout);
    }
    if (verb === 'STAR' && ok) this.#push('STARTTLS\r\n', this.#path.starttls_timeout, true);
    this.#arm();
  }

  // Replies come in microseconds on a busy session, so re-creating a timer for each would cost
  // more than the rest of the bookkeeping: the head's deadline is a number, and one timer, set for
  // the earliest deadline it has to catch, looks at it when it fires.
  #arm(): void {
    const head = this.#pending[0];
    if (!head) {
      this.#deadline = undefined;
      return;
    }
    const now = Date.now();
    this.#deadline = now + head.seconds * 1000;
    if (this.#timer === undefined || this.#timerAt > this.#deadline) this.#schedule(now);
  }

  #schedule(now: number): void {
    clearTimeout(this.#timer);
    const at = this.#deadline!;
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#check(), Math.max(at - now, 0));
    // The socket keeps the process alive while a reply is due; this timer need not.
    this.#timer.unref();
  }

  #check(): void {
    this.#timer = undefined;
    const head = this.#pending[0];
    if (!head || this.#deadline === undefined) return;
    const now = Date.now();
    if (now < this.#deadline) {
      this.#schedule(now);
      return;
    }
    this.timedOut = new SmtpTimeoutError(head.exchange.command, head.seconds);
    this.stop();
    this.#onTimeout(this.timedOut);
  }
}
