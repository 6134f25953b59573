import { isIP, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type {
  EgressPathConfig,
  EgressSource,
  SourceAddress,
  TlsInfo,
  TracedSession,
} from '@sterna/core';
import type SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import type { Candidate } from './candidates.js';
import { formatAddr } from './host-spec.js';
import { type ClientError, SmtpSession } from './smtp-session.js';
import { formatTimeout } from './transcript.js';

/** A session past banner, EHLO, STARTTLS and AUTH, ready for transactions. */
export interface OpenSession {
  readonly session: SmtpSession;
  readonly candidate: Candidate;
  readonly tls?: TlsInfo | undefined;
  /** The local end of the connection (`ip:port`), logged as `source_address`. */
  readonly sourceAddress?: SourceAddress | undefined;
}

/** Why a candidate could not be used; the text goes into the "all candidates failed" reply. */
export class HandshakeError extends Error {
  /** The TLS handshake itself failed (so a clear-text retry may apply). */
  readonly tlsFailed: boolean;
  /** The egress source's address could not be bound: no other host will fare better. */
  readonly bindFailed: boolean;
  constructor(message: string, tlsFailed = false, bindFailed = false) {
    super(message);
    this.tlsFailed = tlsFailed;
    this.bindFailed = bindFailed;
  }
}

/** What the handshake needs besides the candidate. */
export interface HandshakeSettings {
  readonly path: EgressPathConfig;
  /** The ready queue's egress source: the address to bind. */
  readonly source: EgressSource;
  readonly ehloName: string;
  readonly signal: AbortSignal;
  /** The live trace of this connection's sessions (`trace-smtp-client`), if the daemon has one. */
  readonly trace?: TracedSession | undefined;
}

const oneLine = (text: string | undefined) => (text ?? '').replace(/\r?\n/g, ' ');

/** The longest command timeout: nodemailer's inactivity timeout, a backstop behind our own. */
function longestTimeout(path: EgressPathConfig): number {
  return Math.max(
    path.ehlo_timeout,
    path.starttls_timeout,
    path.auth_timeout,
    path.mail_from_timeout,
    path.rcpt_to_timeout,
    path.data_timeout,
    path.data_dot_timeout,
    path.rset_timeout,
  );
}

/**
 * nodemailer's options for one candidate under `enable_tls` (KumoMTA's modes):
 * `Disabled` ignores STARTTLS; `Required*` insist on it; `Opportunistic*` use it when offered
 * and carry on in clear text when the STARTTLS command is refused. The `*Insecure` modes do not
 * verify the certificate. nodemailer fails the session when the handshake itself fails.
 */
export function clientOptions(
  candidate: Candidate,
  settings: HandshakeSettings,
  clearOnly: boolean,
): SMTPConnection.Options {
  const { path } = settings;
  const mode = clearOnly ? 'Disabled' : path.enable_tls;
  const name = candidate.name.replace(/^\[|\]$/g, '');
  // SNI and certificate checks use the MX name; an address literal has no name to check.
  const servername = isIP(name) === 0 ? name : undefined;
  return {
    host: candidate.address,
    port: candidate.port,
    name: settings.ehloName,
    localAddress: settings.source.source_address,
    lmtp: path.use_lmtp,
    servername,
    ignoreTLS: mode === 'Disabled',
    requireTLS: mode === 'Required' || mode === 'RequiredInsecure',
    opportunisticTLS: mode === 'Opportunistic' || mode === 'OpportunisticInsecure',
    tls: {
      servername,
      rejectUnauthorized: mode === 'Opportunistic' || mode === 'Required',
      cert: path.tls_certificate,
      key: path.tls_private_key,
    },
    connectionTimeout: path.connect_timeout * 1000,
    greetingTimeout: path.banner_timeout * 1000,
    socketTimeout: (longestTimeout(path) + 1) * 1000,
    socketCloseTimeout: 1000,
  };
}

// nodemailer keeps the socket (a TLSSocket after STARTTLS) in `_socket`, typed public but named
// private, and exposes the cipher and certificate no other way. The only read of it.
function socketOf(client: SMTPConnection): Socket | undefined {
  const socket = client._socket as Socket | false | null;
  return socket || undefined;
}

/** The local `ip:port` of the session's socket, as KumoMTA logs `source_address`. */
function sourceAddressOf(client: SMTPConnection): SourceAddress | undefined {
  const socket = socketOf(client);
  const address = socket?.localAddress;
  if (!address || socket.localPort === undefined) return undefined;
  return { address: formatAddr(address.replace(/^::ffff:/, ''), socket.localPort) };
}

function tlsInfoOf(client: SMTPConnection): TlsInfo | undefined {
  if (!client.secure) return undefined;
  const socket = client._socket as TLSSocket | false | null;
  if (!socket || typeof socket.getCipher !== 'function') return undefined;
  const cipher = socket.getCipher();
  const subject = socket.getPeerCertificate()?.subject?.CN;
  return {
    cipher: cipher?.standardName ?? cipher?.name,
    protocolVersion: socket.getProtocol() ?? undefined,
    peerSubjectName: subject ? [String(subject)] : undefined,
  };
}

// nodemailer 10.6.1 pipelines whenever the peer offers PIPELINING and has no option to stop it;
// `enable_pipelining = false` removes the keyword from the private list it reads on each send.
function withoutPipelining(client: SMTPConnection): void {
  const list = (client as unknown as { _supportedExtensions?: unknown })._supportedExtensions;
  if (!Array.isArray(list)) return;
  for (let i = list.indexOf('PIPELINING'); i >= 0; i = list.indexOf('PIPELINING')) {
    list.splice(i, 1);
  }
}

/** KumoMTA-style words for why opening a session failed. */
function setupFailure(
  error: ClientError,
  session: SmtpSession,
  settings: HandshakeSettings,
): HandshakeError {
  const { path } = settings;
  if (session.transcript.injected) {
    return new HandshakeError('the peer sent data after its reply to STARTTLS', true);
  }
  if (session.timedOut) return new HandshakeError(session.timedOut.message);
  if (session.reason) return new HandshakeError(session.reason.message);
  if (error.syscall === 'bind') {
    const source = settings.source;
    return new HandshakeError(
      `egress source '${source.name}' cannot bind source_address ${source.source_address}: ${error.originalCode ?? error.code} (is the address configured on this host?)`,
      false,
      true,
    );
  }
  const reply = oneLine(error.response);
  switch (error.timeoutType) {
    case 'CONNECT_TIMEOUT':
      return new HandshakeError(`connect timed out after ${formatTimeout(path.connect_timeout)}`);
    case 'GREETING_TIMEOUT':
      return new HandshakeError(
        `Timed Out waiting ${formatTimeout(path.banner_timeout)} for response to banner`,
      );
    case 'UPGRADE_TIMEOUT':
      return new HandshakeError('TLS handshake failed: TLS handshake timed out', true);
  }
  if (/^Invalid greeting/.test(error.message)) return new HandshakeError(`banner: ${reply}`);
  // `upgrading` stays true when the handshake after a 220 to STARTTLS failed (a socket error).
  if (error.code === 'ETLS' || session.client.upgrading) {
    if (error.command === 'STARTTLS' && error.response) {
      const offered = /[ -]STARTTLS\b/im.test(session.transcript.lastHello ?? '');
      return new HandshakeError(
        offered
          ? `STARTTLS rejected: ${reply}`
          : `STARTTLS not offered and enable_tls is ${path.enable_tls}`,
      );
    }
    const why = error.message.replace(/^Error initiating TLS - /, '');
    return new HandshakeError(`TLS handshake failed: ${why}`, true);
  }
  if (error.response && /^(EHLO|LHLO|HELO)$/.test(error.command ?? '')) {
    return new HandshakeError(`${error.command} rejected: ${reply}`);
  }
  if (error.code === 'EAUTH') return new HandshakeError(`AUTH PLAIN rejected: ${reply}`);
  return new HandshakeError(error.message);
}

/**
 * Opens a session to one candidate on nodemailer's `SMTPConnection`: connect, 220 banner, EHLO
 * (LHLO for LMTP, HELO as a fallback), STARTTLS as `enable_tls` says, EHLO again, AUTH PLAIN
 * when configured. A failed handshake under `OpportunisticInsecure` (or `Opportunistic` with
 * `opportunistic_tls_reconnect_on_failed_handshake`) reconnects to the same host in clear text.
 *
 * @throws HandshakeError saying why this candidate is unusable.
 */
export async function handshake(
  candidate: Candidate,
  settings: HandshakeSettings,
  clearOnly = false,
): Promise<OpenSession> {
  const { path } = settings;
  if (settings.signal.aborted) throw new HandshakeError('aborted');
  const trace = settings.trace;
  if (trace?.active) trace.update({ mx_host: candidate.name, mx_addr: candidate.address });
  const session = new SmtpSession(clientOptions(candidate, settings, clearOnly), path, trace);
  const onAbort = () => session.destroy(new Error('aborted'));
  settings.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const opened = await session.connect();
    if (opened.error || session.transcript.injected) {
      const failure = setupFailure(opened.error ?? new Error('closed'), session, settings);
      const mode = path.enable_tls;
      const retryClear =
        mode === 'OpportunisticInsecure' ||
        (mode === 'Opportunistic' && path.opportunistic_tls_reconnect_on_failed_handshake);
      if (failure.tlsFailed && retryClear && !clearOnly && !settings.signal.aborted) {
        session.destroy(failure);
        return await handshake(candidate, settings, true);
      }
      throw failure;
    }
    const tls = tlsInfoOf(session.client);
    if (!path.enable_pipelining) withoutPipelining(session.client);
    if (path.smtp_auth_plain_username !== undefined) {
      if (!tls && !path.allow_smtp_auth_plain_without_tls) {
        throw new HandshakeError(
          'AUTH PLAIN needs TLS (allow_smtp_auth_plain_without_tls is false)',
        );
      }
      const auth = {
        user: path.smtp_auth_plain_username,
        pass: path.smtp_auth_plain_password ?? '',
        method: 'PLAIN',
      };
      const login = await session.call<boolean>((done) => session.client.login(auth, done));
      if (login.error) throw setupFailure(login.error, session, settings);
    }
    return { session, candidate, tls, sourceAddress: sourceAddressOf(session.client) };
  } catch (error) {
    // Say goodbye politely when the peer still listens, without waiting long for it.
    void session.quit(Math.min(path.rset_timeout, 2));
    throw error instanceof HandshakeError ? error : new HandshakeError(String(error));
  } finally {
    settings.signal.removeEventListener('abort', onAbort);
  }
}
