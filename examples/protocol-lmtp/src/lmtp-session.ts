import { connect, type Socket } from 'node:net';
import type { LmtpEndpoint } from './options.js';
import { type LmtpReply, ReplyReader } from './reply-reader.js';

/** What opening a session needs. Timeouts are in seconds, as in the egress path. */
export interface SessionOptions {
  readonly endpoint: LmtpEndpoint;
  readonly lhloName: string;
  readonly connectTimeout: number;
  readonly bannerTimeout: number;
  readonly lhloTimeout: number;
  /** Local address to bind TCP connections to. */
  readonly localAddress?: string | undefined;
}

/** Why a session could not be opened: the server's reply, or none (a network error). */
export class SessionRefused extends Error {
  readonly reply: LmtpReply | undefined;
  readonly command: string | null;
  constructor(message: string, reply?: LmtpReply, command: string | null = null) {
    super(message);
    this.reply = reply;
    this.command = command;
  }
}

/**
 * One LMTP session on a socket: commands go out one at a time and each waits for its reply
 * (no pipelining, so every reply is matched to its command without bookkeeping).
 */
export class LmtpSession {
  readonly #socket: Socket;
  readonly #reader: ReplyReader;
  /** The address connected to, as logged (`ip:port` or the socket path). */
  readonly peerAddr: string;
  #dead = false;

  private constructor(socket: Socket, peerAddr: string) {
    this.#socket = socket;
    this.#reader = new ReplyReader(socket);
    this.peerAddr = peerAddr;
    socket.on('close', () => {
      this.#dead = true;
    });
    socket.on('error', () => {
      this.#dead = true;
    });
  }

  /** Connects, reads the 220 greeting and says LHLO; throws {@link SessionRefused}. */
  static async open(options: SessionOptions): Promise<LmtpSession> {
    const socket = await openSocket(options);
    const peer =
      options.endpoint.kind === 'unix'
        ? options.endpoint.path
        : `${socket.remoteAddress}:${socket.remotePort}`;
    const session = new LmtpSession(socket, peer);
    try {
      const banner = await session.read(options.bannerTimeout);
      if (banner.code !== 220) throw new SessionRefused('unexpected greeting', banner);
      const lhlo = `LHLO ${options.lhloName}\r\n`;
      const reply = await session.command(lhlo, options.lhloTimeout);
      if (reply.code !== 250) throw new SessionRefused('LHLO refused', reply, lhlo);
      return session;
    } catch (error) {
      session.destroy();
      throw error instanceof SessionRefused ? error : new SessionRefused(String(error));
    }
  }

  /** False once the socket is gone or a 421 said the server is closing. */
  get usable(): boolean {
    return !this.#dead;
  }

  /** Sends one command line (with its CRLF) and reads its reply. */
  async command(line: string, timeoutSeconds: number): Promise<LmtpReply> {
    this.#socket.write(line, 'latin1');
    return this.read(timeoutSeconds);
  }

  /** Writes raw bytes (the dot-stuffed message). */
  write(bytes: Uint8Array): void {
    this.#socket.write(bytes);
  }

  /** Reads the next reply; a 421 marks the session dead (the server is closing it). */
  async read(timeoutSeconds: number): Promise<LmtpReply> {
    try {
      const reply = await this.#reader.read(timeoutSeconds);
      if (reply.code === 421) this.#dead = true;
      return reply;
    } catch (error) {
      // A reply that never came leaves the session out of step: it cannot be used again.
      this.destroy();
      throw error;
    }
  }

  /** Ends the session politely (QUIT, briefly awaited), then closes the socket. */
  async quit(): Promise<void> {
    if (!this.#dead) {
      await this.command('QUIT\r\n', 2).catch(() => undefined);
    }
    this.destroy();
  }

  /** Closes the socket at once. */
  destroy(): void {
    this.#dead = true;
    this.#socket.destroy();
  }
}

function openSocket(options: SessionOptions): Promise<Socket> {
  const { endpoint } = options;
  const socket =
    endpoint.kind === 'unix'
      ? connect({ path: endpoint.path })
      : connect({
          host: endpoint.host,
          port: endpoint.port,
          noDelay: true,
          ...(options.localAddress ? { localAddress: options.localAddress } : {}),
        });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new SessionRefused(`connect timed out after ${options.connectTimeout} s`));
    }, options.connectTimeout * 1000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new SessionRefused(error.message));
    });
  });
}
