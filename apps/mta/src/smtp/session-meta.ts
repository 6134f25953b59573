import type { MetaValue, PeerAddress } from '@sterna/core';
import type { SMTPServerSession } from 'smtp-server';
import type { EsmtpListenerParams } from './params.js';

/**
 * The connection's meta, as KumoMTA gives it to the SMTP events and to every message received
 * on it: the listener's `meta`, then `received_from`, `received_via`, `hostname`,
 * `reception_protocol` and (after EHLO) `ehlo_domain`.
 */
export function connectionMeta(
  params: EsmtpListenerParams,
  session: SMTPServerSession,
): Record<string, MetaValue> {
  return {
    ...(params.meta as Record<string, MetaValue>),
    received_from: `${session.remoteAddress}:${session.remotePort}`,
    received_via: `${session.localAddress}:${session.localPort}`,
    hostname: params.hostname,
    reception_protocol: 'ESMTP',
    ...(session.hostNameAppearsAs ? { ehlo_domain: session.hostNameAppearsAs } : {}),
  };
}

/** The client as log records name it: the EHLO name and the IP address. */
export function peerOf(session: SMTPServerSession): PeerAddress {
  return { name: session.hostNameAppearsAs ?? '', addr: session.remoteAddress };
}

/** `MAIL FROM`'s address, or `''` for the null sender or before `MAIL FROM`. */
export function senderOf(session: SMTPServerSession): string {
  return session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
}
