import {
  type EgressPathConfig,
  errorText,
  type Message,
  makeResponse,
  type Outcome,
  outcomeFor,
  type PeerAddress,
  parseSmtpReply,
  type Response,
  type TlsInfo,
} from '@sterna/core';
import { dataChunks, hasEightBit } from './dot-stuff.js';
import type { OpenSession } from './handshake.js';
import type { SmtpReply } from './reply-parser.js';
import { type SmtpSession, SmtpTimeoutError } from './smtp-session.js';

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

type Settled = { reply: SmtpReply; error?: undefined } | { reply?: undefined; error: Error };

// Replies are read in order; settling each at once keeps a dead socket from leaving a rejected
// promise nobody awaits yet.
function settle(promise: Promise<SmtpReply>): Promise<Settled> {
  return promise.then(
    (reply) => ({ reply }),
    (error: Error) => ({ error }),
  );
}

const nonAscii = (text: string) => /[^\p{ASCII}]/u.test(text);

function isTooMany(response: Response): boolean {
  const e = response.enhanced_code;
  if (e && e.subject === 5 && e.detail === 3) return true;
  return (response.code === 452 || response.code === 552) && e === null;
}

/**
 * Runs one transaction: MAIL FROM, a RCPT per recipient, DATA and the message (pipelined when
 * the peer offers PIPELINING and `enable_pipelining` is on). Each recipient's outcome comes
 * from its own RCPT reply when refused, else from the reply after the data (one per recipient
 * for LMTP). Never throws: a dead session becomes transient outcomes.
 */
export async function runTransaction(
  open: OpenSession,
  message: Message,
  recipients: readonly string[],
  tx: TransactionContext,
): Promise<TransactionResult> {
  const { session, extensions } = open;
  const { path } = tx;
  const extras = { peer: tx.peer, tls: tx.tls };
  const decided = new Map<string, Outcome>();
  let fatal = false;
  let transportError = false;
  let dirty = false;

  const fromReply = (reply: SmtpReply, command: string): Response =>
    parseSmtpReply(reply.raw, command) ??
    makeResponse(400, `KumoMTA internal: unexpected reply from the peer: ${reply.raw}`, {
      enhanced: null,
      command,
    });
  const fromError = (error: Error): Response => {
    fatal = true;
    transportError = true;
    if (error instanceof SmtpTimeoutError) {
      return makeResponse(
        421,
        `4.4.2 KumoMTA internal: failed to send message to ${tx.siteName} ${tx.peer.name} ${tx.peer.addr}: ${error.message}`,
        { command: error.command },
      );
    }
    return makeResponse(400, `KumoMTA internal: failed to send message: ${errorText(error)}`, {
      enhanced: null,
    });
  };
  const decide = (recipient: string, response: Response) => {
    if (!decided.has(recipient)) decided.set(recipient, outcomeFor(recipient, response, extras));
    if (response.code === 421) fatal = true;
  };
  const decideRest = (response: Response) => {
    for (const r of recipients) decide(r, response);
  };
  const finish = (tooMany: string[] = []): TransactionResult => ({
    outcomes: recipients.map((r) => decided.get(r)!),
    dirty,
    fatal,
    transportError,
    tooMany,
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
  if (decided.size > 0) {
    const rest = await runTransaction(
      open,
      message,
      recipients.filter((r) => !decided.has(r)),
      tx,
    );
    for (const o of rest.outcomes) decided.set(o.recipient, o);
    return { ...rest, outcomes: recipients.map((r) => decided.get(r)!) };
  }

  const params: string[] = [];
  if (extensions.has('SIZE')) params.push(`SIZE=${message.size}`);
  if (extensions.has('8BITMIME') && hasEightBit(message.data)) params.push('BODY=8BITMIME');
  if (extensions.has('SMTPUTF8') && [message.sender, ...recipients].some(nonAscii)) {
    params.push('SMTPUTF8');
  }
  const mailCommand = `MAIL FROM:<${message.sender}>${params.length ? ` ${params.join(' ')}` : ''}\r\n`;
  const rcptCommands = recipients.map((r) => `RCPT TO:<${r}>\r\n`);
  const dataCommand = 'DATA\r\n';
  const pipelined = path.enable_pipelining && extensions.has('PIPELINING');

  let mail: Promise<Settled>;
  let rcpts: Promise<Settled>[] = [];
  let data: Promise<Settled> | undefined;
  if (pipelined) {
    // RFC 2920: the whole envelope and DATA go out in one write; replies come back in order.
    session.socket.cork();
    session.write(mailCommand);
    for (const command of rcptCommands) session.write(command);
    session.write(dataCommand);
    session.socket.uncork();
    mail = settle(session.read(mailCommand, path.mail_from_timeout));
    rcpts = rcptCommands.map((c) => settle(session.read(c, path.rcpt_to_timeout)));
    data = settle(session.read(dataCommand, path.data_timeout));
  } else {
    mail = settle(session.command(mailCommand, path.mail_from_timeout));
  }

  const mailResult = await mail;
  if (mailResult.error) {
    decideRest(fromError(mailResult.error));
    return finish();
  }
  const mailOk = mailResult.reply.code >= 200 && mailResult.reply.code < 300;
  if (!mailOk) {
    dirty = true;
    decideRest(fromReply(mailResult.reply, mailCommand));
    if (pipelined) await drainPipelined(session, rcpts, data!, path);
    return finish();
  }

  const accepted: string[] = [];
  const tooMany: string[] = [];
  for (let i = 0; i < recipients.length; i++) {
    const recipient = recipients[i]!;
    const result = await (pipelined
      ? rcpts[i]!
      : settle(session.command(rcptCommands[i]!, path.rcpt_to_timeout)));
    if (result.error) {
      decideRest(fromError(result.error));
      return finish();
    }
    const response = fromReply(result.reply, rcptCommands[i]!);
    if (result.reply.code >= 200 && result.reply.code < 300) {
      accepted.push(recipient);
      continue;
    }
    dirty = true;
    decide(recipient, response);
    if (isTooMany(response)) tooMany.push(recipient);
    if (result.reply.code === 421) {
      // The peer is closing: every recipient not yet answered shares the 421.
      decideRest(response);
      return finish();
    }
  }

  if (!pipelined && accepted.length > 0)
    data = settle(session.command(dataCommand, path.data_timeout));
  if (data === undefined) return finish();
  const dataResult = await data;
  if (dataResult.error) {
    decideRest(fromError(dataResult.error));
    return finish();
  }
  if (dataResult.reply.code !== 354) {
    dirty = true;
    decideRest(fromReply(dataResult.reply, dataCommand));
    return finish(accepted.length > 0 ? tooMany : []);
  }
  if (accepted.length === 0) {
    // Pipelined DATA was taken although every RCPT failed: end it with an empty body (RFC 2920 §3.1).
    dirty = true;
    await settle(session.command('.\r\n', path.data_dot_timeout));
    return finish();
  }

  const chunks = dataChunks(message.data);
  session.socket.cork();
  for (const chunk of chunks) session.write(chunk);
  session.socket.uncork();
  const dot = '.\r\n';
  const finals = path.use_lmtp ? accepted : accepted.slice(0, 1);
  const replies = finals.map(() => settle(session.read(dot, path.data_dot_timeout)));
  for (let i = 0; i < finals.length; i++) {
    const result = await replies[i]!;
    if (result.error) {
      decideRest(fromError(result.error));
      return finish();
    }
    const response = fromReply(result.reply, dot);
    if (path.use_lmtp) decide(finals[i]!, response);
    else for (const r of accepted) decide(r, response);
  }
  return finish(tooMany);
}

// After a refused MAIL in a pipelined group, the RCPT and DATA replies are still due.
async function drainPipelined(
  session: SmtpSession,
  rcpts: Promise<Settled>[],
  data: Promise<Settled>,
  path: EgressPathConfig,
): Promise<void> {
  for (const r of rcpts) await r;
  const result = await data;
  if (result.reply?.code === 354) await settle(session.command('.\r\n', path.data_dot_timeout));
}
