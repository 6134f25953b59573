import { errorText, isSternaError, type Logger, type MetaValue, newSpoolId } from '@sterna/core';
import { type PolicyMessage, type ReceptionPolicy, rejectionOf } from '../policy/types.js';
import { type AcceptedMessage, queueOf, type Receiver } from '../reception/receiver.js';
import {
  prependHeader,
  receivedHeader,
  supplementalHeader,
  type TraceHeaders,
} from '../reception/trace-headers.js';
import type { Caller } from './auth.js';
import { compileRequest } from './generate.js';
import type { InjectRequest } from './inject-request.js';
import { TemplateError } from './template.js';

/** The 200 answer of `POST /api/inject/v1` (KumoMTA's keys). */
export interface InjectResponse {
  success_count: number;
  fail_count: number;
  failed_recipients: string[];
  errors: string[];
}

/** What the endpoint answers: JSON on success, otherwise a status and a plain-text reason. */
export type InjectOutcome =
  | { readonly status: 200; readonly body: InjectResponse }
  | { readonly status: number; readonly text: string };

/** What injection needs from the daemon. */
export interface InjectDeps {
  readonly policy: ReceptionPolicy;
  /** Only `accept` is used: the real Receiver spools, logs `Reception` and queues. */
  readonly receiver: Pick<Receiver, 'accept'>;
  readonly log: Logger;
  readonly hostname: string;
  readonly now?: () => number;
}

/** The connection a request came over. */
export interface InjectPeer {
  readonly caller: Caller;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
}

// HTTP's trace header defaults differ from SMTP's: no Received header.
const HTTP_TRACE: TraceHeaders = {
  received_header: false,
  supplemental_header: true,
  header_name: 'X-KumoRef',
  include_meta_names: [],
};

/**
 * Generates one message per recipient, fires `http_message_generated` for each (a `kumo.reject`
 * fails only that recipient), then hands every accepted copy to the receiver at once: nothing is
 * acknowledged unless all of them are spooled.
 */
export async function injectMessages(
  request: InjectRequest,
  peer: InjectPeer,
  deps: InjectDeps,
): Promise<InjectOutcome> {
  if (request.template_dialect === 'Handlebars')
    return {
      status: 400,
      text: "template_dialect 'Handlebars' is not supported by Sterna; use 'Jinja' or 'Static'",
    };
  if (request.deferred_generation)
    return { status: 400, text: 'deferred_generation is not supported by Sterna yet' };
  const now = deps.now ?? Date.now;
  const trace: TraceHeaders = { ...HTTP_TRACE, ...request.trace_headers };
  const hasEvent = deps.policy.hasEvent('http_message_generated');
  const response: InjectResponse = {
    success_count: 0,
    fail_count: 0,
    failed_recipients: [],
    errors: [],
  };
  const accepted: AcceptedMessage[] = [];
  try {
    const generate = compileRequest(request, deps.hostname, now);
    for (const recipient of request.recipients) {
      const id = newSpoolId();
      const text = generate(recipient, id).replace(/\r?\n/g, '\r\n');
      let data: Uint8Array = Buffer.from(text, 'utf8');
      if (trace.received_header) {
        const header = receivedHeader({
          ehlo: peer.remoteAddress,
          peerIp: peer.remoteAddress,
          hostname: deps.hostname,
          localIp: peer.localAddress,
          protocol: 'HTTP',
          id,
          recipient: recipient.email,
          time: now(),
        });
        data = prependHeader(data, header);
      }
      let message: PolicyMessage = {
        id,
        sender: request.envelope_sender,
        recipients: [recipient.email],
        meta: {
          http_auth: peer.caller.user,
          reception_protocol: 'HTTP',
          received_from: `${peer.remoteAddress}:${peer.remotePort}`,
          received_via: `${peer.localAddress}:${peer.localPort}`,
          hostname: deps.hostname,
          ...(recipient.metadata !== undefined ? { extra: recipient.metadata as MetaValue } : {}),
        },
        data,
      };
      if (hasEvent) {
        try {
          message = (
            await deps.policy.callWithMessage('http_message_generated', message, [peer.caller.info])
          ).message;
        } catch (error) {
          const rejection = rejectionOf(error);
          if (!rejection)
            deps.log.error('policy event http_message_generated failed', {
              error: errorText(error),
            });
          response.fail_count++;
          response.failed_recipients.push(recipient.email);
          response.errors.push(
            `${recipient.email}: ${rejection ? `${rejection.code} ${rejection.text}` : errorText(error)}`,
          );
          continue;
        }
      }
      response.success_count++;
      const meta = { ...message.meta } as Record<string, MetaValue>;
      // Queue `null` discards: KumoMTA neither spools nor logs an HTTP message sent there.
      if (queueOf({ recipients: message.recipients, meta }) === 'null') continue;
      if (trace.supplemental_header) {
        data = prependHeader(
          message.data,
          supplementalHeader(trace.header_name, message.recipients, meta, trace.include_meta_names),
        );
      } else data = message.data;
      accepted.push({
        id: message.id,
        sender: message.sender,
        recipients: [...message.recipients],
        meta,
        data,
      });
    }
  } catch (error) {
    if (error instanceof TemplateError) return { status: 422, text: error.message };
    throw error;
  }
  if (accepted.length > 0) {
    try {
      await deps.receiver.accept(accepted, { name: '', addr: peer.remoteAddress });
    } catch (error) {
      deps.log.error('could not spool injected messages', { error: errorText(error) });
      const full = isSternaError(error, 'STERNA_SPOOL_FULL');
      return {
        status: 503,
        text: full ? 'disk is too full' : `could not spool the messages: ${errorText(error)}`,
      };
    }
  }
  return { status: 200, body: response };
}
