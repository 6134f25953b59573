import {
  type Connection,
  internalFailure,
  type Message,
  makeResponse,
  type Outcome,
  outcomeFor,
  type PeerAddress,
  parseSmtpReply,
  type Response,
  type SendOptions,
} from '@sterna/core';
import { dotStuff } from './dot-stuff.js';
import type { LmtpSession } from './lmtp-session.js';
import { type LmtpReply, replyText } from './reply-reader.js';

/** The egress path timeouts one transaction uses, in seconds. */
export interface TransactionTimeouts {
  readonly mailFrom: number;
  readonly rcptTo: number;
  readonly data: number;
  readonly dataDot: number;
  readonly rset: number;
}

/**
 * An open LMTP connection. Each `send` is one transaction: MAIL FROM, one RCPT TO per
 * recipient, DATA, and then one reply per accepted recipient — LMTP's point: the server says
 * for each mailbox whether it took the message.
 */
export class LmtpConnection implements Connection {
  readonly #session: LmtpSession;
  readonly #timeouts: TransactionTimeouts;
  readonly #peer: PeerAddress;
  #closing: Promise<void> | undefined;

  constructor(session: LmtpSession, timeouts: TransactionTimeouts, peerName: string) {
    this.#session = session;
    this.#timeouts = timeouts;
    this.#peer = { name: peerName, addr: session.peerAddr };
  }

  isUsable(): boolean {
    return this.#session.usable;
  }

  async send(message: Message, { signal }: SendOptions): Promise<Outcome[]> {
    const outcomes = new Map<string, Outcome>();
    const decide = (recipient: string, response: Response) =>
      outcomes.set(recipient, outcomeFor(recipient, response, { peer: this.#peer }));
    const abort = () => this.#session.destroy();
    signal.addEventListener('abort', abort, { once: true });
    try {
      if (signal.aborted) throw new Error('delivery aborted');
      if (!this.#session.usable) throw new Error('the LMTP session is closed');
      const t = this.#timeouts;
      const mail = `MAIL FROM:<${message.sender}>\r\n`;
      const mailReply = await this.#session.command(mail, t.mailFrom);
      if (!isOk(mailReply)) {
        for (const r of message.recipients) decide(r, toResponse(mailReply, mail));
        await this.#reset();
        return this.#ordered(message, outcomes);
      }
      const accepted: string[] = [];
      for (const recipient of message.recipients) {
        const rcpt = `RCPT TO:<${recipient}>\r\n`;
        const reply = await this.#session.command(rcpt, t.rcptTo);
        if (isOk(reply)) accepted.push(recipient);
        else decide(recipient, toResponse(reply, rcpt));
        if (!this.#session.usable) break; // a 421: the others get the failure below
      }
      if (accepted.length === 0 || !this.#session.usable) {
        await this.#reset();
        return this.#ordered(message, outcomes);
      }
      const dataReply = await this.#session.command('DATA\r\n', t.data);
      if (dataReply.code !== 354) {
        for (const r of accepted) decide(r, toResponse(dataReply, 'DATA\r\n'));
        await this.#reset();
        return this.#ordered(message, outcomes);
      }
      this.#session.write(dotStuff(message.data));
      // One reply per accepted recipient, in RCPT order (RFC 2033 §4.2).
      for (const recipient of accepted) {
        decide(recipient, toResponse(await this.#session.read(t.dataDot), '.\r\n'));
      }
      return this.#ordered(message, outcomes);
    } catch (error) {
      const reason = signal.aborted ? 'delivery aborted' : (error as Error).message;
      const failure = internalFailure(`LMTP session with ${this.#peer.name}: ${reason}`);
      for (const r of message.recipients) {
        if (!outcomes.has(r)) outcomes.set(r, { recipient: r, ...failure, peer: this.#peer });
      }
      this.#session.destroy();
      return this.#ordered(message, outcomes);
    } finally {
      signal.removeEventListener('abort', abort);
    }
  }

  /** Sends QUIT once; later and concurrent calls share that close. */
  close(): Promise<void> {
    this.#closing ??= this.#session.quit();
    return this.#closing;
  }

  // After a refused transaction the session must be reset before the next MAIL FROM.
  async #reset(): Promise<void> {
    if (!this.#session.usable) return;
    const reply = await this.#session.command('RSET\r\n', this.#timeouts.rset);
    if (!isOk(reply)) this.#session.destroy();
  }

  #ordered(message: Message, outcomes: Map<string, Outcome>): Outcome[] {
    return message.recipients.map(
      (r) =>
        outcomes.get(r) ?? {
          recipient: r,
          ...internalFailure('LMTP session closed before this recipient was tried'),
          peer: this.#peer,
        },
    );
  }
}

const isOk = (reply: LmtpReply) => reply.code >= 200 && reply.code < 300;

function toResponse(reply: LmtpReply, command: string): Response {
  return (
    parseSmtpReply(replyText(reply), command) ??
    makeResponse(reply.code, reply.lines.join(' '), { command })
  );
}
