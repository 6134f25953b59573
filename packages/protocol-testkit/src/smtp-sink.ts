import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';
import { selfSignedPair } from './tls.js';

/** How the sink answers a command: a reply, drop the connection, or never answer. */
export type SinkReply = { readonly code: number; readonly message: string } | 'drop' | 'stall';

/** A message the sink accepted. */
export interface SinkMessage {
  readonly sender: string;
  readonly recipients: readonly string[];
  readonly data: Buffer;
  /** Whether the session was under TLS when the message arrived. */
  readonly secure: boolean;
  /** The client's address as the sink saw it (IPv4-mapped IPv6 prefix removed). */
  readonly remoteAddress: string;
  /** The name the client gave in EHLO/HELO/LHLO. */
  readonly heloName: string;
  /** One id per connection: messages sharing it came over one session. */
  readonly sessionId: string;
  /** When the sink accepted it (epoch ms). */
  readonly receivedAt: number;
}

/** Options of {@link startSmtpSink}. */
export interface SmtpSinkOptions {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (the kernel picks) */
  readonly port?: number;
  /** Offer STARTTLS with a self-signed certificate. @default true */
  readonly tls?: boolean;
  /** Speak LMTP: one DATA reply per recipient. @default false */
  readonly lmtp?: boolean;
  /** @default 'sink.test' */
  readonly hostname?: string;
  /** Overrides the reply to MAIL FROM; undefined keeps the default (250). */
  onMailFrom?(address: string, session: SMTPServerSession): SinkReply | undefined;
  /** Overrides the reply to RCPT TO; undefined keeps the scripted default. */
  onRcpt?(address: string, session: SMTPServerSession): SinkReply | undefined;
  /** Overrides the reply after DATA; undefined keeps the scripted default. */
  onData?(message: Omit<SinkMessage, 'sessionId' | 'receivedAt'>): SinkReply | undefined;
}

/** A real SMTP (or LMTP) server on loopback that records what it accepts. */
export interface SmtpSink {
  readonly host: string;
  readonly port: number;
  /** Messages accepted so far, in order. */
  readonly messages: SinkMessage[];
  /** Connections accepted so far. */
  sessions(): number;
  /** The most connections that were open at the same moment. */
  peakConnections(): number;
  /** Resolves once `n` messages were accepted; rejects after `timeoutMs`. */
  waitForMessages(n: number, timeoutMs?: number): Promise<SinkMessage[]>;
  close(): Promise<void>;
}

const localPart = (address: string) => address.slice(0, address.lastIndexOf('@')).toLowerCase();

/** The scripted reply to RCPT for a recipient, by the prefix of its local part. */
export function scriptedRcptReply(address: string): SinkReply | undefined {
  const local = localPart(address);
  if (local.startsWith('tempfail'))
    return { code: 450, message: '4.2.0 mailbox temporarily unavailable' };
  if (local.startsWith('permfail')) return { code: 550, message: '5.1.1 no such user here' };
  if (local.startsWith('rcpt421')) return { code: 421, message: '4.3.2 closing the connection' };
  if (local.startsWith('drop')) return 'drop';
  if (local.startsWith('stall')) return 'stall';
  return undefined;
}

/** The scripted reply after DATA for a recipient (`data421`, `data451`, `data550`). */
export function scriptedDataReply(address: string): SinkReply | undefined {
  const m = /^data(421|451|550)/.exec(localPart(address));
  if (!m) return undefined;
  const code = Number(m[1]);
  return { code, message: `${code === 550 ? '5.6.0' : '4.3.0'} scripted reply to DATA` };
}

function replyError(reply: { code: number; message: string }): Error {
  return Object.assign(new Error(reply.message), { responseCode: reply.code });
}

/**
 * Starts an SMTP sink on loopback. Replies follow the recipients' local parts unless a hook
 * decides: `tempfail…` 450, `permfail…` 550, `rcpt421…` 421 and disconnect, `drop…` connection
 * destroyed, `stall…` no answer, all at RCPT; `data421…`/`data451…`/`data550…` after DATA.
 */
export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const host = options.host ?? '127.0.0.1';
  const tls = options.tls ?? true;
  const pair = tls ? await selfSignedPair() : undefined;
  const messages: SinkMessage[] = [];
  const sessionIds = new Map<string, string>();
  const waiters = new Set<() => void>();
  let connections = 0;
  let open = 0;
  let peak = 0;

  // Resolves a scripted reply into the callback smtp-server expects; 'drop' destroys the socket.
  const answer = (
    reply: SinkReply | undefined,
    session: SMTPServerSession,
    done: (err?: Error | null) => void,
  ) => {
    if (reply === undefined) return done();
    if (reply === 'stall') return;
    if (reply === 'drop') {
      for (const connection of server.connections as Set<{ id: string; _socket?: Socket }>) {
        if (connection.id === session.id) connection._socket?.destroy();
      }
      return;
    }
    done(replyError(reply));
  };

  const server = new SMTPServer({
    name: options.hostname ?? 'sink.test',
    lmtp: options.lmtp ?? false,
    authOptional: true,
    disabledCommands: tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    hide8BITMIME: false,
    hideSMTPUTF8: false,
    size: 64 * 1024 * 1024,
    logger: false,
    ...(pair ? { key: pair.key, cert: pair.cert } : {}),
    onConnect(_session, done) {
      connections++;
      done();
    },
    onMailFrom(address: SMTPServerAddress, session, done) {
      answer(options.onMailFrom?.(address.address, session), session, done);
    },
    onRcptTo(address: SMTPServerAddress, session, done) {
      const reply =
        options.onRcpt?.(address.address, session) ?? scriptedRcptReply(address.address);
      answer(reply, session, done);
    },
    onData(stream: Readable, session, done) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const recipients = session.envelope.rcptTo.map((r) => r.address);
        const from = session.envelope.mailFrom;
        const received = {
          sender: from ? from.address : '',
          recipients,
          data: Buffer.concat(chunks),
          secure: session.secure,
          remoteAddress: session.remoteAddress.replace(/^::ffff:/, ''),
          heloName: session.hostNameAppearsAs,
        };
        const custom = options.onData?.(received);
        const scripted = recipients.map((r) => scriptedDataReply(r));
        const record = (message: Omit<SinkMessage, 'sessionId' | 'receivedAt'>) => {
          let sessionId = sessionIds.get(session.id);
          if (!sessionId) {
            sessionId = randomUUID();
            sessionIds.set(session.id, sessionId);
          }
          messages.push({ ...message, sessionId, receivedAt: Date.now() });
          for (const wake of waiters) wake();
        };
        if (custom === undefined && scripted.every((r) => r === undefined)) {
          record(received);
          return done(null, `2.0.0 OK queued as ${messages.length}`);
        }
        if (custom !== undefined)
          return answer(custom, session, done as (err?: Error | null) => void);
        if (options.lmtp) {
          // One reply per recipient, in RCPT order; unscripted recipients are accepted (and recorded).
          const accepted = recipients.filter((_, i) => scripted[i] === undefined);
          if (accepted.length > 0) record({ ...received, recipients: accepted });
          const replies = scripted.map((r) =>
            r === undefined || typeof r === 'string' ? '2.0.0 OK' : replyError(r),
          );
          return (done as unknown as (err: null, replies: (string | Error)[]) => void)(
            null,
            replies,
          );
        }
        return answer(
          scripted.find((r) => r !== undefined),
          session,
          done as (err?: Error | null) => void,
        );
      });
    },
  });
  // Open connections are counted from accept to the client's QUIT (the session is over for
  // both sides then; the sockets' teardown may overlap the client's next connection), or to the
  // socket's close for a client that leaves without QUIT.
  server.server.on('connection', (socket: Socket) => {
    socket.setNoDelay(true);
    open++;
    peak = Math.max(peak, open);
    let counted = true;
    const over = () => {
      if (!counted) return;
      counted = false;
      open = Math.max(0, open - 1);
    };
    const watch = (chunk: Buffer) => {
      if (/(^|\n)QUIT\r?\n/i.test(chunk.toString('latin1'))) {
        over();
        socket.off('data', watch);
      }
    };
    socket.on('data', watch);
    socket.once('close', over);
  });
  // smtp-server re-emits a peer's reset inside a transaction on the server; unheard, that is an
  // uncaught exception in the process hosting the sink. A peer that vanishes is not our error.
  server.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.server.address() as { port: number }).port;

  return {
    host,
    port,
    messages,
    sessions: () => connections,
    peakConnections: () => peak,
    waitForMessages(n, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (messages.length < n) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(messages.slice());
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `the sink received ${messages.length} of ${n} messages within ${timeoutMs} ms`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const connection of server.connections as Set<{ _socket?: Socket }>)
          connection._socket?.destroy();
        server.close(() => resolve());
      }),
  };
}
