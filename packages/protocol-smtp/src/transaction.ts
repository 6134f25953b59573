import { isAscii } from 'node:buffer';
import {
  type EgressPathConfig,
  type Message,
  makeResponse,
  type Outcome,
  outcomeFor,
  type PeerAddress,
  parseSmtpReply,
  type Response,
  type TlsInfo,
} from '@sterna/core';
import type { OpenSession } from './handshake.js';
import type { ClientError, SendInfo } from './smtp-session.js';

/** What a transaction needs to know besides the session and message. */
export interface TransactionContext {
  readonly path: EgressPathConfig;
  /** The ready queue's site name, for timeout texts. */
  readonly siteName: string;
  readonly peer: PeerAddress;
  readonly tls?: TlsInfo | undefined;
}

/** The outcomes of one MAIL…DATA transaction and the state it left the session in. */
export interface TransactionResult {
  readonly outcomes: Outcome[];
  /** The envelope failed part way: RSET before the next transaction. */
  readonly dirty: boolean;
  /** The session is over (a 421, a timeout, a dropped socket). */
  readonly fatal: boolean;
  /** The session died without a reply (a timeout, a reset): `try_next_host_on_transport_error` applies. */
  readonly transportError: boolean;
  /** Recipients refused with "too many recipients" while others were accepted: retry at once. */
  readonly tooMany: readonly string[];
}

const DOT = '.\r\n';
const rcptCommand = (recipient: string) => `RCPT TO:<${recipient}>\r\n`;

function isTooMany(response: Response): boolean {
  const e = response.enhanced_code;
  if (e && e.subject === 5 && e.detail === 3) return true;
  return (response.code === 452 || response.code === 552) && e === null;
}

const fromReply = (reply: string, command: string | null): Response =>
  parseSmtpReply(reply, command) ??
  makeResponse(400, `KumoMTA internal: unexpected reply from the peer: ${reply}`, {
    enhanced: null,
    command,
  });

/**
 * Runs one transaction through nodemailer's `send()`: MAIL FROM (with SIZE, BODY=8BITMIME and
 * SMTPUTF8 as nodemailer adds them), a RCPT per recipient, DATA and the message. Each recipient's
 * outcome comes from its own RCPT reply when refused, else from the reply after the data (one per
 * recipient for LMTP). Never throws: a dead session becomes transient outcomes.
 */
export async function runTransaction(
  open: OpenSession,
  message: Message,
  recipients: readonly string[],
  tx: TransactionContext,
): Promise<TransactionResult> {
  const { session } = open;
  const { transcript } = session;
  const extras = { peer: tx.peer, tls: tx.tls };
  const decided = new Map<string, Outcome>();
  const decide = (recipient: string, response: Response) => {
    if (!decided.has(recipient)) decided.set(recipient, outcomeFor(recipient, response, extras));
  };
  const decideRest = (response: Response) => {
    for (const r of recipients) decide(r, response);
  };
  const finish = (state: Partial<Omit<TransactionResult, 'outcomes'>> = {}): TransactionResult => ({
    outcomes: recipients.map((r) => decided.get(r)!),
    dirty: false,
    fatal: false,
    transportError: false,
    tooMany: [],
    ...state,
  });

  // A line break in an address would smuggle commands into the session: never send it.
  const unsafe = (address: string) => /[\r\n<>]/.test(address);
  const refuse = (address: string) =>
    makeResponse(553, `5.1.3 KumoMTA internal: address ${JSON.stringify(address)} cannot be sent`);
  if (unsafe(message.sender)) {
    decideRest(refuse(message.sender));
    return finish();
  }
  for (const r of recipients) if (unsafe(r)) decide(r, refuse(r));
  if (decided.size === recipients.length) return finish();
  const sendable = recipients.filter((r) => !decided.has(r));

  const data = Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength);
  const result = await session.send(
    {
      from: message.sender,
      to: sendable,
      size: message.size,
      // `BODY=8BITMIME` only for data with a byte above 127 (a native scan).
      use8BitMime: !isAscii(message.data),
    },
    data,
  );

  const error = result.error;
  if (error?.code === 'EENVELOPE' && error.command === 'MAIL FROM' && error.response) {
    // A refused MAIL FROM answers for every recipient (pipelined RCPTs only get 503s after it).
    const mail = transcript.exchanges.find((e) => e.command.startsWith('MAIL FROM:'));
    decideRest(fromReply(error.response, mail?.command ?? null));
    return finish({ dirty: true, fatal: !session.usable });
  }
  // Recipients refused at RCPT keep their own reply, whatever happened after.
  const tooMany: string[] = [];
  let refused = 0;
  for (const r of sendable) {
    const reply = transcript.rcptReply(r);
    if (reply === undefined || reply.startsWith('2')) continue;
    const response = fromReply(reply, rcptCommand(r));
    decide(r, response);
    refused++;
    if (isTooMany(response)) tooMany.push(r);
  }
  const retry = refused < sendable.length ? tooMany : [];
  if (result.value) return delivered(result.value, sendable, retry);
  return failed(result.error, retry);

  // LMTP: one reply after the data per accepted recipient, in RCPT order (nodemailer keeps only
  // the last; the transcript has them all). Decided first, so a session that dies half way through
  // them keeps the recipients already answered.
  function decideDataReplies(): void {
    if (!tx.path.use_lmtp) return;
    const replies = transcript.dataReplies();
    const accepted = sendable.filter((r) => transcript.rcptReply(r)?.startsWith('2'));
    accepted.forEach((r, i) => {
      const reply = replies[i];
      if (reply !== undefined) decide(r, fromReply(reply, DOT));
    });
  }

  function delivered(info: SendInfo, sent: string[], retryNow: string[]): TransactionResult {
    decideDataReplies();
    for (const r of sent) decide(r, fromReply(info.response, DOT));
    return finish({ tooMany: retryNow });
  }

  function failed(error: ClientError, retryNow: string[]): TransactionResult {
    decideDataReplies();
    const timedOut = session.timedOut;
    if (timedOut) {
      decideRest(
        makeResponse(
          421,
          `4.4.2 KumoMTA internal: failed to send message to ${tx.siteName} ${tx.peer.name} ${tx.peer.addr}: ${timedOut.message}`,
          { command: timedOut.command },
        ),
      );
      return finish({ fatal: true, transportError: true });
    }
    const reply = error.response;
    if (!reply && error.code === 'EMESSAGE' && session.usable) {
      // nodemailer refuses, before sending, a message larger than the peer's SIZE limit.
      decideRest(makeResponse(552, `5.3.4 KumoMTA internal: ${error.message}`));
      return finish();
    }
    if (!reply || session.reason) {
      // No reply: a socket error, a close, an abort, or something refused before sending.
      const text = error.message;
      decideRest(
        makeResponse(400, `KumoMTA internal: failed to send message: ${text}`, { enhanced: null }),
      );
      return finish({ fatal: true, transportError: !session.reason });
    }
    const command = transcript.commandOf(reply) ?? null;
    const response = fromReply(reply, command);
    decideRest(response);
    const fatal = response.code === 421 || !session.usable;
    // A refused MAIL, DATA or all-refused RCPTs leave the peer mid-transaction.
    const dirty = error.code === 'EENVELOPE';
    return finish({ fatal, dirty, tooMany: fatal ? [] : retryNow });
  }
}
