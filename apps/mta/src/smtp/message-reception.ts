import { errorText, type Logger, type MetaValue } from '@sterna/core';
import { newSpoolId } from '@sterna/core/engine';
import { connectionMetaArg } from '@sterna/lua';
import type { SMTPServerSession } from 'smtp-server';
import type { AcceptedMessage, Receiver } from '../reception/receiver.js';
import { prependHeader, receivedHeader, supplementalHeader } from '../reception/trace-headers.js';
import { checkMessageData } from './data-checks.js';
import type { EsmtpListenerParams } from './params.js';
import {
  applyMetaChanges,
  connectionMeta,
  isAuthenticated,
  peerOf,
  senderOf,
  tlsOf,
} from './session-meta.js';
import type { SessionPolicy } from './session-policy.js';
import type { ServerTraceTap } from './trace-tap.js';

/** What {@link MessageReception} needs besides the listener's params. */
export interface MessageReceptionDeps {
  readonly receiver: Pick<Receiver, 'accept'>;
  readonly log: Logger;
  readonly session: SessionPolicy;
  /** Reports each message's disposition to `trace-smtp-server`. */
  readonly tap?: ServerTraceTap | undefined;
}

/**
 * What happens after the final dot, in KumoMTA's order: the data is checked,
 * `smtp_server_data` sees the whole transaction once (every recipient, the data as sent), then
 * one message is made per recipient (KumoMTA's BifurcateAlways) with its trace headers and
 * `smtp_server_message_received`, and every copy is spooled before the client hears `250`.
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
    const transaction = await this.#transaction(session, checked.data);
    const accepted: AcceptedMessage[] = [];
    for (const rcpt of transaction.recipients) {
      accepted.push(await this.#copyFor(session, rcpt, transaction));
    }
    try {
      await this.#deps.receiver.accept(accepted, peerOf(session), {
        deferredSpool: this.#params.deferred_spool === true,
      });
    } catch (error) {
      this.#deps.log.error('could not spool a received message', { error: errorText(error) });
      const text = `4.3.0 ${this.#params.hostname} technical difficulties: ${errorText(error)}`;
      throw this.#deps.session.refuse(session, { code: 451, text }, 'DATA');
    }
    for (const message of accepted) this.#deps.tap?.disposition(session, message);
    return accepted.map((m) => m.id);
  }

  // The whole transaction as one message, the connection meta copied into its meta, through
  // smtp_server_data (which may change the data, the meta and the recipient list).
  async #transaction(session: SMTPServerSession, data: Uint8Array): Promise<AcceptedMessage> {
    const meta = connectionMeta(this.#params, session);
    const message: AcceptedMessage = {
      id: newSpoolId(),
      sender: senderOf(session),
      recipients: session.envelope.rcptTo.map((r) => r.address),
      meta: { ...meta },
      data,
    };
    const fired = await this.#deps.session.fire(
      session,
      'smtp_server_data',
      [message, connectionMetaArg(meta)],
      'DATA',
    );
    if (!fired) return message;
    if ('error' in fired) throw fired.error;
    const after = fired.message ?? message;
    // What the handler set in the connection meta reaches this message's meta too, as KumoMTA
    // copies the connection meta into the message after the event.
    const changed = applyMetaChanges(after.meta as Record<string, MetaValue>, fired.metaChanges);
    return { ...after, meta: changed };
  }

  // One recipient's copy: Received, the reception event, then the supplemental header.
  async #copyFor(
    session: SMTPServerSession,
    rcpt: string,
    transaction: AcceptedMessage,
  ): Promise<AcceptedMessage> {
    const { trace_headers: trace, hostname } = this.#params;
    const id = newSpoolId();
    let message: AcceptedMessage = {
      ...transaction,
      id,
      recipients: [rcpt],
      meta: { ...transaction.meta },
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
    const fired = await this.#deps.session.fire(
      session,
      'smtp_server_message_received',
      [message, connectionMetaArg(connectionMeta(this.#params, session))],
      'DATA',
    );
    if (fired && 'error' in fired) throw fired.error;
    if (fired?.message) {
      message = { ...fired.message, meta: { ...fired.message.meta } as Record<string, MetaValue> };
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
