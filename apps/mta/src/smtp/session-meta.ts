import type { TLSSocket } from 'node:tls';
import type { MetaValue, PeerAddress, TlsInfo } from '@sterna/core';
import type { SMTPServerSession } from 'smtp-server';
import type { EsmtpListenerParams } from './params.js';

/** What a session learned that smtp-server does not keep: its TLS facts and SMTP AUTH identity. */
interface SessionFacts {
  tls?: TlsInfo;
  /** `authz_id`: the authorization identity (the authentication identity when the client sent none). */
  authz?: string;
  /** `authn_id`: the authentication identity. */
  authn?: string;
  /**
   * What the policy's `conn_meta:set_meta` calls changed, kept for the rest of the connection
   * (`undefined`: a key the policy removed).
   */
  policy?: Record<string, MetaValue | undefined>;
}

// smtp-server keeps one session object per connection (reset in place by EHLO, RSET and
// STARTTLS), so it is the key for what the connection learned.
const facts = new WeakMap<SMTPServerSession, SessionFacts>();

function factsOf(session: SMTPServerSession): SessionFacts {
  let found = facts.get(session);
  if (!found) {
    found = {};
    facts.set(session, found);
  }
  return found;
}

/**
 * Records the TLS facts of a session that has just completed STARTTLS, as KumoMTA logs them: the
 * cipher's standard name (`TLS_AES_256_GCM_SHA384`), the protocol (`TLSv1.3`) and the client
 * certificate's subject, one `KEY=value` per part (empty when the client showed none).
 */
export function recordTls(session: SMTPServerSession, socket: TLSSocket): void {
  const cipher = socket.getCipher();
  factsOf(session).tls = {
    cipher: cipher.standardName ?? cipher.name,
    protocolVersion: socket.getProtocol() ?? undefined,
    peerSubjectName: subjectParts(socket.getPeerCertificate()?.subject),
  };
}

function subjectParts(subject: Record<string, unknown> | undefined): string[] {
  if (!subject) return [];
  const parts: string[] = [];
  for (const [key, value] of Object.entries(subject)) {
    for (const one of Array.isArray(value) ? value : [value]) parts.push(`${key}=${String(one)}`);
  }
  return parts;
}

/** The TLS facts of the session, once STARTTLS completed. */
export function tlsOf(session: SMTPServerSession): TlsInfo | undefined {
  return facts.get(session)?.tls;
}

/** Records a successful `AUTH PLAIN`. */
export function recordAuth(session: SMTPServerSession, authz: string, authn: string): void {
  const found = factsOf(session);
  found.authz = authz;
  found.authn = authn;
}

/** The session's `authz_id`, once it authenticated. */
export function authzOf(session: SMTPServerSession): string | undefined {
  return facts.get(session)?.authz;
}

/** True once the session authenticated. */
export function isAuthenticated(session: SMTPServerSession): boolean {
  return facts.get(session)?.authn !== undefined;
}

/**
 * Keeps what a policy event changed in the connection meta: `sent` is the meta the event got,
 * `returned` the whole meta as its handler left it. Only the keys that differ are kept (so a
 * fact that changes later, a second EHLO's `ehlo_domain`, is not pinned to its old value).
 * Returns those changes.
 */
export function recordPolicyMeta(
  session: SMTPServerSession,
  sent: Readonly<Record<string, unknown>>,
  returned: Readonly<Record<string, unknown>>,
): Record<string, MetaValue | undefined> {
  const changes: Record<string, MetaValue | undefined> = {};
  for (const [key, value] of Object.entries(returned)) {
    if (!(key in sent) || JSON.stringify(sent[key]) !== JSON.stringify(value))
      changes[key] = value as MetaValue;
  }
  for (const key of Object.keys(sent)) if (!(key in returned)) changes[key] = undefined;
  const found = factsOf(session);
  found.policy = { ...found.policy, ...changes };
  return changes;
}

/** Applies changes as {@link recordPolicyMeta} returns them to a meta object. */
export function applyMetaChanges(
  meta: Record<string, MetaValue>,
  changes: Readonly<Record<string, MetaValue | undefined>> | undefined,
): Record<string, MetaValue> {
  if (!changes) return meta;
  const out = { ...meta };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete out[key];
    else out[key] = value;
  }
  return out;
}

/**
 * The connection's meta, as KumoMTA gives it to the SMTP events and to every message received
 * on it: the listener's `meta`, then `received_from`, `received_via`, `hostname`,
 * `reception_protocol`, (after EHLO) `ehlo_domain`, (after STARTTLS) `tls_cipher`,
 * `tls_protocol_version`, `tls_peer_subject_name` and (after AUTH) `authz_id`, `authn_id`;
 * then what the policy's `conn_meta:set_meta` calls changed on this connection.
 */
export function connectionMeta(
  params: EsmtpListenerParams,
  session: SMTPServerSession,
): Record<string, MetaValue> {
  const known = facts.get(session);
  return applyMetaChanges(factMeta(params, session, known), known?.policy);
}

function factMeta(
  params: EsmtpListenerParams,
  session: SMTPServerSession,
  known: SessionFacts | undefined,
): Record<string, MetaValue> {
  const tls = known?.tls;
  return {
    ...(params.meta as Record<string, MetaValue>),
    received_from: socketAddress(session.remoteAddress, session.remotePort),
    received_via: socketAddress(session.localAddress, session.localPort),
    hostname: params.hostname,
    reception_protocol: 'ESMTP',
    ...(session.hostNameAppearsAs ? { ehlo_domain: session.hostNameAppearsAs } : {}),
    ...(tls
      ? {
          ...(tls.cipher ? { tls_cipher: tls.cipher } : {}),
          ...(tls.protocolVersion ? { tls_protocol_version: tls.protocolVersion } : {}),
          tls_peer_subject_name: [...(tls.peerSubjectName ?? [])],
        }
      : {}),
    ...(known?.authn !== undefined ? { authz_id: known.authz ?? '', authn_id: known.authn } : {}),
  };
}

/** `ip:port`, with an IPv6 address in brackets (`[::1]:25`), as KumoMTA writes socket addresses. */
export function socketAddress(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The client as log records name it: the EHLO name and the IP address. */
export function peerOf(session: SMTPServerSession): PeerAddress {
  return { name: session.hostNameAppearsAs ?? '', addr: session.remoteAddress };
}

/** `MAIL FROM`'s address, or `''` for the null sender or before `MAIL FROM`. */
export function senderOf(session: SMTPServerSession): string {
  return session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
}
