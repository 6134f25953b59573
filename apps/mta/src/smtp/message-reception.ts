import { errorText, type Logger, type MetaValue } from '@sterna/core';
import { newSpoolId } from '@sterna/core/engine';
import { connectionMetaArg } from '@sterna/lua';
import type { SMTPServerSession } from 'smtp-server';
import type { ReceptionPolicy } from '../policy/types.js';
import type { AcceptedMessage, Receiver } from '../reception/receiver.js';
import { prependHeader, receivedHeader, supplementalHeader } from '../reception/trace-headers.js';
import { checkMessageData } from './data-checks.js';
import type { EsmtpListenerParams } from './params.js';
import { connectionMeta, isAuthenticated, peerOf, senderOf, tlsOf } from './session-meta.js';
import type { SessionPolicy } from './session-policy.js';

/** What {@link MessageReception} needs besides the listener's params. */
export interface MessageReceptionDeps {
  readonly policy: ReceptionPolicy;
  readonly receiver: Pick<Receiver, 'accept'>;
  readonly log: Logger;
  readonly session: SessionPolicy;
}

/**
 * What happens after the final dot: the data is checked, one message is made per recipient
 * (KumoMTA's BifurcateAlways) with its trace headers and `smtp_server_message_received`, and
 * every copy is spooled before the client hears `250`.
 */
export class MessageReception {
  readonly #params: EsmtpListenerParams;
  readonly #deps: MessageReceptionDeps;

  constructor(params: EsmtpListenerParams, deps: MessageReceptionDeps) {
    this.#params = params;
    this.#deps = deps;
  }

  /**
   * Receives one message's data for the session's recipients; resolves with the spool ids.
   * @throws the error smtp-server replies with (a policy rejection, a 4xx/5xx data check, or
   *   451 when the spool failed), already logged as a `Rejection` record.
   */
  async receive(session: SMTPServerSession, raw: Buffer): Promise<string[]> {
    const checked = checkMessageData(raw, this.#params);
    if ('rejection' in checked) throw this.#deps.session.refuse(session, checked.rejection, 'DATA');
    const meta = connectionMeta(this.#params, session);
    const accepted: AcceptedMessage[] = [];
    for (const rcpt of session.envelope.rcptTo.map((r) => r.address)) {
      accepted.push(await this.#copyFor(session, rcpt, checked.data, meta));
    }
    try {
      await this.#deps.receiver.accept(accepted, peerOf(session));
    } catch (error) {
      this.#deps.log.error('could not spool a received message', { error: errorText(error) });
      const text = `4.3.0 ${this.#params.hostname} technical difficulties: ${errorText(error)}`;
      throw this.#deps.session.refuse(session, { code: 451, text }, 'DATA');
    }
    return accepted.map((m) => m.id);
  }

  // One recipient's copy: Received, the reception event, then the supplemental header.
  async #copyFor(
    session: SMTPServerSession,
    rcpt: string,
    data: Uint8Array,
    meta: Record<string, MetaValue>,
  ): Promise<AcceptedMessage> {
    const { trace_headers: trace, hostname } = this.#params;
    const id = newSpoolId();
    let message: AcceptedMessage = {
      id,
      sender: senderOf(session),
      recipients: [rcpt],
      meta: { ...meta },
      data,
    };
    if (trace.received_header) {
      const header = receivedHeader({
        ehlo: session.hostNameAppearsAs ?? 'unknown',
        peerIp: session.remoteAddress,
        hostname,
        localIp: session.localAddress,
        protocol: receivedWith(session),
        tls: tlsComment(session),
        id,
        recipient: rcpt,
        time: Date.now(),
      });
      message = { ...message, data: prependHeader(message.data, header) };
    }
    if (this.#deps.policy.hasEvent('smtp_server_message_received')) {
      const event = 'smtp_server_message_received';
      try {
        const after = await this.#deps.policy.callWithMessage(event, message, [
          connectionMetaArg(meta),
        ]);
        message = {
          ...after.message,
          meta: { ...after.message.meta } as Record<string, MetaValue>,
        };
      } catch (error) {
        const rejection = this.#deps.session.rejectionFor(event, error);
        throw this.#deps.session.refuse(session, rejection, 'DATA');
      }
    }
    if (trace.supplemental_header) {
      const header = supplementalHeader(
        trace.header_name,
        message.recipients,
        message.meta,
        trace.include_meta_names,
      );
      message = { ...message, data: prependHeader(message.data, header) };
    }
    return message;
  }
}

// RFC 3848's words for the Received header, as KumoMTA writes them.
function receivedWith(session: SMTPServerSession): string {
  if (!session.secure) return 'ESMTP';
  return isAuthenticated(session) ? 'ESMTPSA' : 'ESMTPS';
}

// KumoMTA's `(<protocol>:<cipher>)` after the protocol word on a TLS session.
function tlsComment(session: SMTPServerSession): string | undefined {
  const tls = tlsOf(session);
  return tls?.protocolVersion && tls.cipher ? `${tls.protocolVersion}:${tls.cipher}` : undefined;
}
