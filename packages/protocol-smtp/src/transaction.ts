import { isAscii } from 'node:buffer';
import {
  type EgressPathConfig,
  type Message,
  makeResponse,
  type Outcome,
  type OutcomeExtras,
  outcomeFor,
  type PeerAddress,
  parseSmtpReply,
  type Response,
  type SourceAddress,
  type TlsInfo,
} from '@sterna/core';
import type { OpenSession } from './handshake.js';
import type { ClientError, SmtpSession } from './smtp-session.js';
import type { Transcript } from './transcript.js';

/** What a transaction needs to know besides the session and message. */
export interface TransactionContext {
  readonly path: EgressPathConfig;
  /** The ready queue's site name, for timeout texts. */
  readonly siteName: string;
  readonly peer: PeerAddress;
  readonly tls?: TlsInfo | undefined;
  readonly source_address?: SourceAddress | undefined;
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

/** The outcome of each recipient, first decision wins. */
class Decisions {
  readonly #map = new Map<string, Outcome>();
  readonly #recipients: readonly string[];
  readonly #extras: OutcomeExtras;

  constructor(recipients: readonly string[], extras: OutcomeExtras) {
    this.#recipients = recipients;
    this.#extras = extras;
  }

  has(recipient: string): boolean {
    return this.#map.has(recipient);
  }

  get size(): number {
    return this.#map.size;
  }

  decide(recipient: string, response: Response): void {
    if (!this.#map.has(recipient)) {
      this.#map.set(recipient, outcomeFor(recipient, response, this.#extras));
    }
  }

  /** Every recipient not yet decided gets `response`. */
  rest(response: Response): void {
    for (const r of this.#recipients) this.decide(r, response);
  }

  finish(state: Partial<Omit<TransactionResult, 'outcomes'>> = {}): TransactionResult {
    return {
      outcomes: this.#recipients.map((r) => this.#map.get(r)!),
      dirty: false,
      fatal: false,
      transportError: false,
      tooMany: [],
      ...state,
    };
  }
}

// A line break or bracket in an address would smuggle commands into the session.
const UNSAFE = /[\r\n<>]/;
const refusal = (address: string) =>
  makeResponse(553, `5.1.3 KumoMTA internal: address ${JSON.stringify(address)} cannot be sent`);

// LMTP: one reply after the data per accepted recipient, in RCPT order (nodemailer keeps only the
// last; the transcript has them all). Decided first, so a session that dies half way through them
// keeps the recipients already answered.
function decideDataReplies(d: Decisions, transcript: Transcript, sent: readonly string[]): void {
  const replies = transcript.dataReplies();
  let i = 0;
  for (const r of sent) {
    if (!transcript.rcptReply(r)?.startsWith('2')) continue;
    const reply = replies[i++];
    if (reply !== undefined) d.decide(r, fromReply(reply, DOT));
  }
}

function failed(
  d: Decisions,
  error: ClientError,
  session: SmtpSession,
  tx: TransactionContext,
  retryNow: string[],
): TransactionResult {
  const timedOut = session.timedOut;
  if (timedOut) {
    d.rest(
      makeResponse(
        421,
        `4.4.2 KumoMTA internal: failed to send message to ${tx.siteName} ${tx.peer.name} ${tx.peer.addr}: ${timedOut.message}`,
        { command: timedOut.command },
      ),
    );
    return d.finish({ fatal: true, transportError: true });
  }
  const reply = error.response;
  if (!reply && error.code === 'EMESSAGE' && session.usable) {
    // nodemailer refuses, before sending, a message larger than the peer's SIZE limit.
    d.rest(makeResponse(552, `5.3.4 KumoMTA internal: ${error.message}`));
    return d.finish();
  }
  if (!reply || session.reason) {
    // No reply: a socket error, a close, an abort.
    d.rest(
      makeResponse(400, `KumoMTA internal: failed to send message: ${error.message}`, {
        enhanced: null,
      }),
    );
    return d.finish({ fatal: true, transportError: !session.reason });
  }
  const response = fromReply(reply, session.transcript.commandOf(reply) ?? null);
  d.rest(response);
  const fatal = response.code === 421 || !session.usable;
  // A refused DATA or all-refused RCPTs leave the peer mid-transaction: RSET before the next.
  const dirty = error.code === 'EENVELOPE';
  return d.finish({ fatal, dirty, tooMany: fatal ? [] : retryNow });
}

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
  const d = new Decisions(recipients, {
    peer: tx.peer,
    tls: tx.tls,
    source_address: tx.source_address,
  });
  if (UNSAFE.test(message.sender)) {
    d.rest(refusal(message.sender));
    return d.finish();
  }
  for (const r of recipients) if (UNSAFE.test(r)) d.decide(r, refusal(r));
  if (d.size === recipients.length) return d.finish();
  const sendable = d.size === 0 ? [...recipients] : recipients.filter((r) => !d.has(r));

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
    d.rest(fromReply(error.response, mail?.command ?? null));
    return d.finish({ dirty: true, fatal: !session.usable });
  }
  // Recipients refused at RCPT keep their own reply, whatever happened after.
  const tooMany: string[] = [];
  let refused = 0;
  for (const r of sendable) {
    const reply = transcript.rcptReply(r);
    if (reply === undefined || reply.startsWith('2')) continue;
    const response = fromReply(reply, `RCPT TO:<${r}>\r\n`);
    d.decide(r, response);
    refused++;
    if (isTooMany(response)) tooMany.push(r);
  }
  const retry = refused < sendable.length ? tooMany : [];
  if (tx.path.use_lmtp) decideDataReplies(d, transcript, sendable);
  if (error) return failed(d, error, session, tx, retry);
  const final = fromReply(result.value.response, DOT);
  for (const r of sendable) d.decide(r, final);
  return d.finish({ tooMany: retry });
}
