import net from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import tls from 'node:tls';
import { formatDuration } from '@sterna/core';
import { ReplyParser, type SmtpReply } from './reply-parser.js';

/** Seconds as KumoMTA's texts show them: `5s`, `5m`, or `300ms` below a second. */
export function formatTimeout(seconds: number): string {
  return seconds < 1 ? `${Math.round(seconds * 1000)}ms` : formatDuration(seconds);
}

/** No reply came within the command's timeout. */
export class SmtpTimeoutError extends Error {
  readonly command: string;
  readonly seconds: number;
  constructor(command: string, seconds: number) {
    super(`Timed Out waiting ${formatTimeout(seconds)} for response to ${command.trimEnd()}`);
    this.name = 'SmtpTimeoutError';
    this.command = command;
    this.seconds = seconds;
  }
}

interface Waiter {
  readonly command: string;
  readonly seconds: number;
  resolve(reply: SmtpReply): void;
  reject(error: Error): void;
}

/** Where and how to open the TCP connection. */
export interface SocketTarget {
  readonly address: string;
  readonly port: number;
  readonly localAddress?: string | undefined;
  /** Seconds. */
  readonly connectTimeout: number;
  readonly signal: AbortSignal;
}

/**
 * One SMTP conversation on a socket: writes commands, matches replies to them in order (so
 * pipelined commands work), enforces a timeout per awaited reply, and upgrades to TLS.
 * Knows nothing of mail; the transaction and handshake code drive it.
 */
export class SmtpSession {
  socket: net.Socket | tls.TLSSocket;
  readonly #waiters: Waiter[] = [];
  #parser = new ReplyParser();
  #decoder = new StringDecoder('utf8');
  #timer: NodeJS.Timeout | undefined;
  #error: Error | undefined;
  #closed = false;
  /** A reply nobody asked for (a 421 before shutdown): the session cannot be trusted any more. */
  unsolicited: SmtpReply | undefined;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.#attach(socket);
  }

  /** Opens a TCP connection with TCP_NODELAY (no 40 ms delayed-ACK stalls between commands). */
  static connect(target: SocketTarget): Promise<SmtpSession> {
    if (target.signal.aborted) return Promise.reject(new Error('aborted'));
    return new Promise((resolve, reject) => {
      const socket = net.connect({
        host: target.address,
        port: target.port,
        localAddress: target.localAddress,
        noDelay: true,
      });
      const fail = (error: Error) => {
        cleanup();
        socket.destroy();
        reject(error);
      };
      const onAbort = () => fail(new Error('aborted'));
      const timer = setTimeout(
        () => fail(new Error(`connect timed out after ${formatTimeout(target.connectTimeout)}`)),
        target.connectTimeout * 1000,
      );
      const cleanup = () => {
        clearTimeout(timer);
        socket.off('error', fail);
        target.signal.removeEventListener('abort', onAbort);
      };
      socket.once('error', fail);
      target.signal.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => {
        cleanup();
        socket.setNoDelay(true);
        resolve(new SmtpSession(socket));
      });
    });
  }

  /** False once the socket closed, failed, timed out, or the peer spoke out of turn. */
  get usable(): boolean {
    return !this.#closed && this.#error === undefined && this.unsolicited === undefined;
  }

  /** True once the socket is gone. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Writes bytes as they are (commands carry their own CRLF). */
  write(data: string | Uint8Array): void {
    if (!this.#closed) this.socket.write(data);
  }

  /** Waits for the next reply not yet claimed; `command` and `seconds` shape a timeout's text. */
  read(command: string, seconds: number): Promise<SmtpReply> {
    return new Promise((resolve, reject) => {
      if (this.#closed || this.#error) {
        reject(this.#error ?? new Error('connection closed'));
        return;
      }
      this.#waiters.push({ command, seconds, resolve, reject });
      if (this.#waiters.length === 1) this.#arm();
    });
  }

  /** Writes a command and waits for its reply. */
  command(line: string, seconds: number): Promise<SmtpReply> {
    this.write(line);
    return this.read(line, seconds);
  }

  /**
   * Upgrades the connection to TLS after a 220 reply to STARTTLS. Rejects, with the socket
   * destroyed, when the handshake fails or takes longer than `seconds`.
   */
  upgrade(options: tls.ConnectionOptions, seconds: number): Promise<tls.TLSSocket> {
    if (this.unsolicited) {
      // Bytes sent after the 220 to STARTTLS, before the handshake, would be read as if they came
      // over TLS (the STARTTLS command injection attack): refuse to go on.
      const error = new Error('the peer sent data after its reply to STARTTLS');
      this.destroy(error);
      return Promise.reject(error);
    }
    const plain = this.socket;
    this.#detach(plain);
    return new Promise((resolve, reject) => {
      const secure = tls.connect({ ...options, socket: plain });
      const timer = setTimeout(() => {
        secure.destroy();
        finish(new Error(`TLS handshake timed out after ${formatTimeout(seconds)}`));
      }, seconds * 1000);
      const finish = (error?: Error) => {
        clearTimeout(timer);
        secure.off('error', finish);
        if (error) {
          this.#error ??= error;
          this.#onClose();
          plain.destroy();
          reject(error);
          return;
        }
        this.socket = secure;
        this.#parser = new ReplyParser();
        this.#decoder = new StringDecoder('utf8');
        this.#attach(secure);
        resolve(secure);
      };
      secure.once('error', finish);
      secure.once('secureConnect', () => finish());
    });
  }

  /** Ends the session at once; pending replies are rejected with `error`. */
  destroy(error: Error = new Error('connection closed')): void {
    this.#error ??= error;
    this.socket.destroy();
    this.#onClose();
  }

  /** Sends QUIT and closes, waiting at most `seconds` for the reply. Never rejects. */
  async quit(seconds: number): Promise<void> {
    if (this.usable) {
      try {
        await this.command('QUIT\r\n', seconds);
      } catch {
        // The peer may hang up without answering QUIT; either way the session is over.
      }
    }
    if (!this.#closed) {
      this.socket.end();
      this.socket.destroy();
      this.#onClose();
    }
  }

  #attach(socket: net.Socket): void {
    socket.on('data', this.#onData);
    socket.on('error', this.#onError);
    socket.on('close', this.#onCloseEvent);
  }

  #detach(socket: net.Socket): void {
    socket.off('data', this.#onData);
    socket.off('error', this.#onError);
    socket.off('close', this.#onCloseEvent);
  }

  #arm(): void {
    clearTimeout(this.#timer);
    const head = this.#waiters[0];
    if (!head) return;
    this.#timer = setTimeout(() => {
      this.destroy(new SmtpTimeoutError(head.command, head.seconds));
    }, head.seconds * 1000);
  }

  readonly #onData = (chunk: Buffer): void => {
    let replies: SmtpReply[];
    try {
      replies = this.#parser.push(this.#decoder.write(chunk));
    } catch (error) {
      this.destroy(error as Error);
      return;
    }
    for (const reply of replies) {
      const waiter = this.#waiters.shift();
      if (waiter) waiter.resolve(reply);
      else this.unsolicited ??= reply;
    }
    if (replies.length > 0) this.#arm();
  };

  readonly #onError = (error: Error): void => {
    this.#error ??= error;
  };

  readonly #onCloseEvent = (): void => {
    this.#onClose();
  };

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    const error = this.#error ?? new Error('connection closed by the peer');
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }
}
