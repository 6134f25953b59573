import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { type EgressPathConfig, errorText, type TlsInfo } from '@sterna/core';
import type { Candidate } from './candidates.js';
import type { SmtpReply } from './reply-parser.js';
import { SmtpSession } from './smtp-session.js';

/** A session past banner, EHLO, STARTTLS and AUTH, ready for transactions. */
export interface OpenSession {
  readonly session: SmtpSession;
  readonly candidate: Candidate;
  /** EHLO keywords, upper case (`PIPELINING`, `SIZE`, `8BITMIME`, `SMTPUTF8`, …). */
  readonly extensions: ReadonlySet<string>;
  readonly tls?: TlsInfo | undefined;
}

/** Why a candidate could not be used; the text goes into the "all candidates failed" reply. */
export class HandshakeError extends Error {}

/** What the handshake needs besides the candidate. */
export interface HandshakeSettings {
  readonly path: EgressPathConfig;
  readonly ehloName: string;
  readonly signal: AbortSignal;
}

function oneLine(reply: SmtpReply): string {
  return reply.raw.replace(/\r\n/g, ' ');
}

function extensionsOf(reply: SmtpReply): Set<string> {
  const keywords = new Set<string>();
  for (const line of reply.raw.split('\r\n').slice(1)) {
    const keyword = line.slice(4).trim().split(/\s+/)[0];
    if (keyword) keywords.add(keyword.toUpperCase());
  }
  return keywords;
}

async function greet(session: SmtpSession, settings: HandshakeSettings): Promise<Set<string>> {
  const { path, ehloName } = settings;
  const verb = path.use_lmtp ? 'LHLO' : 'EHLO';
  const reply = await session.command(`${verb} ${ehloName}\r\n`, path.ehlo_timeout);
  if (reply.code === 250) return extensionsOf(reply);
  if (path.use_lmtp || reply.code === 421 || reply.code === 0) {
    throw new HandshakeError(`${verb} rejected: ${oneLine(reply)}`);
  }
  // A peer that does not speak ESMTP still takes HELO (RFC 5321 §4.1.1.1).
  const helo = await session.command(`HELO ${ehloName}\r\n`, path.ehlo_timeout);
  if (helo.code !== 250) throw new HandshakeError(`HELO rejected: ${oneLine(helo)}`);
  return new Set();
}

function tlsOptions(
  candidate: Candidate,
  path: EgressPathConfig,
  verify: boolean,
): ConnectionOptions {
  const name = candidate.name.replace(/^\[|\]$/g, '');
  return {
    // SNI and certificate checks use the MX name; an address literal has no name to check.
    servername: isIP(name) === 0 ? name : undefined,
    host: isIP(name) === 0 ? name : candidate.address,
    rejectUnauthorized: verify,
    cert: path.tls_certificate,
    key: path.tls_private_key,
  };
}

/**
 * Opens a session to one candidate: connect, 220 banner, EHLO (LHLO for LMTP, HELO as a
 * fallback), STARTTLS as `enable_tls` says, EHLO again, AUTH PLAIN when configured.
 * TLS follows KumoMTA: `Opportunistic` verifies the certificate and fails the host when the
 * handshake fails (unless `opportunistic_tls_reconnect_on_failed_handshake`), while
 * `OpportunisticInsecure` does not verify and carries on in clear text.
 *
 * @throws HandshakeError (or a socket error) saying why this candidate is unusable.
 */
export async function handshake(
  candidate: Candidate,
  settings: HandshakeSettings,
  clearOnly = false,
): Promise<OpenSession> {
  const { path } = settings;
  const session = await SmtpSession.connect({
    address: candidate.address,
    port: candidate.port,
    localAddress: path.source_address,
    connectTimeout: path.connect_timeout,
    signal: settings.signal,
  });
  const onAbort = () => session.destroy(new Error('aborted'));
  settings.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const banner = await session.read('banner', path.banner_timeout);
    if (banner.code !== 220) throw new HandshakeError(`banner: ${oneLine(banner)}`);
    let extensions = await greet(session, settings);
    const mode = clearOnly ? 'Disabled' : path.enable_tls;
    const required = mode === 'Required' || mode === 'RequiredInsecure';
    let tls: TlsInfo | undefined;
    if (mode !== 'Disabled') {
      if (!extensions.has('STARTTLS')) {
        if (required) throw new HandshakeError(`STARTTLS not offered and enable_tls is ${mode}`);
      } else {
        const reply = await session.command('STARTTLS\r\n', path.starttls_timeout);
        if (reply.code !== 220) {
          if (required) throw new HandshakeError(`STARTTLS rejected: ${oneLine(reply)}`);
        } else {
          const verify = mode === 'Opportunistic' || mode === 'Required';
          let secure: import('node:tls').TLSSocket;
          try {
            secure = await session.upgrade(
              tlsOptions(candidate, path, verify),
              path.starttls_timeout,
            );
          } catch (error) {
            const retryClear =
              mode === 'OpportunisticInsecure' ||
              (mode === 'Opportunistic' && path.opportunistic_tls_reconnect_on_failed_handshake);
            if (retryClear && !settings.signal.aborted)
              return await handshake(candidate, settings, true);
            throw new HandshakeError(`TLS handshake failed: ${errorText(error)}`);
          }
          const cipher = secure.getCipher();
          const subject = secure.getPeerCertificate()?.subject?.CN;
          tls = {
            cipher: cipher?.standardName ?? cipher?.name,
            protocolVersion: secure.getProtocol() ?? undefined,
            peerSubjectName: subject ? [String(subject)] : undefined,
          };
          extensions = await greet(session, settings);
        }
      }
    }
    if (path.smtp_auth_plain_username !== undefined) {
      if (!tls && !path.allow_smtp_auth_plain_without_tls) {
        throw new HandshakeError(
          'AUTH PLAIN needs TLS (allow_smtp_auth_plain_without_tls is false)',
        );
      }
      const token = Buffer.from(
        `\0${path.smtp_auth_plain_username}\0${path.smtp_auth_plain_password ?? ''}`,
      ).toString('base64');
      const reply = await session.command(`AUTH PLAIN ${token}\r\n`, path.auth_timeout);
      if (reply.code !== 235) throw new HandshakeError(`AUTH PLAIN rejected: ${oneLine(reply)}`);
    }
    return { session, candidate, extensions, tls };
  } catch (error) {
    // Say goodbye politely when the peer still listens, without waiting long for it.
    void session.quit(Math.min(path.rset_timeout, 2));
    throw error;
  } finally {
    settings.signal.removeEventListener('abort', onAbort);
  }
}
