import { errorText, isSternaError, type Logger, type MetaValue } from '@sterna/core';
import { newSpoolId } from '@sterna/core/engine';
import { type PolicyMessage, type ReceptionPolicy, rejectionOf } from '../policy/types.js';
import { type AcceptedMessage, queueOf, type Receiver } from '../reception/receiver.js';
import {
  prependHeader,
  receivedHeader,
  supplementalHeader,
  type TraceHeaders,
} from '../reception/trace-headers.js';
import type { Caller } from './auth.js';
import { compileRequest, type Generate, type InjectRecipient } from './generate.js';
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
 * Generated copies are handed to the spool in batches of about this many bytes, so a large body
 * sent to many recipients does not hold every copy in memory at once.
 */
export const INJECT_BATCH_BYTES = 8 * 1024 * 1024;

/**
 * Generates one message per recipient, fires `http_message_generated` for each (a `kumo.reject`
 * fails only that recipient), and spools the accepted copies in batches. When the spool refuses
 * the first batch nothing has been acknowledged and the answer is 503; when it refuses a later
 * one, the answer is 200 with the copies not spooled listed as failed (so a client retrying
 * them sends no duplicates).
 */
export async function injectMessages(
  request: InjectRequest,
  peer: InjectPeer,
  deps: InjectDeps,
): Promise<InjectOutcome> {
  if (request.template_dialect === 'Handlebars') {
    return {
      status: 400,
      text: "template_dialect 'Handlebars' is not supported by Sterna; use 'Jinja' or 'Static'",
    };
  }
  if (request.deferred_generation)
    return { status: 400, text: 'deferred_generation is not supported by Sterna yet' };
  let generate: Generate;
  try {
    generate = compileRequest(request, deps.hostname, deps.now ?? Date.now);
  } catch (error) {
    if (error instanceof TemplateError) return { status: 422, text: error.message };
    throw error;
  }
  const response: InjectResponse = {
    success_count: 0,
    fail_count: 0,
    failed_recipients: [],
    errors: [],
  };
  const fail = (email: string, reason: string) => {
    response.fail_count++;
    response.failed_recipients.push(email);
    response.errors.push(`${email}: ${reason}`);
  };
  let batch: AcceptedMessage[] = [];
  let batchBytes = 0;
  let spooled = 0;
  // Spools the batch; on failure answers 503 if nothing was acknowledged yet, else fails the rest.
  const flush = async (
    remaining: readonly InjectRecipient[],
  ): Promise<InjectOutcome | undefined> => {
    if (batch.length === 0) return undefined;
    const pending = batch;
    batch = [];
    batchBytes = 0;
    try {
      await deps.receiver.accept(
        pending,
        { name: '', addr: peer.remoteAddress },
        { deferredSpool: request.deferred_spool === true },
      );
      spooled += pending.length;
      response.success_count += pending.length;
      return undefined;
    } catch (error) {
      deps.log.error('could not spool injected messages', { error: errorText(error) });
      const text = isSternaError(error, 'STERNA_SPOOL_FULL')
        ? 'disk is too full'
        : `could not spool the messages: ${errorText(error)}`;
      if (spooled === 0) return { status: 503, text };
      for (const m of pending) fail(m.recipients[0] ?? '', text);
      for (const r of remaining) fail(r.email, text);
      return { status: 200, body: response };
    }
  };

  for (const [index, recipient] of request.recipients.entries()) {
    let message: AcceptedMessage | 'dropped';
    try {
      message = await generateOne(request, recipient, generate, peer, deps);
    } catch (error) {
      // A rendering error before anything was spooled refuses the request, as a syntax error
      // does; after that, it fails only its recipient.
      if (!(error instanceof TemplateError)) {
        const rejection = rejectionOf(error);
        if (!rejection)
          deps.log.error('policy event http_message_generated failed', { error: errorText(error) });
        fail(recipient.email, rejection ? `${rejection.code} ${rejection.text}` : errorText(error));
        continue;
      }
      if (spooled === 0) return { status: 422, text: error.message };
      fail(recipient.email, error.message);
      continue;
    }
    if (message === 'dropped') {
      response.success_count++;
      continue;
    }
    batch.push(message);
    batchBytes += message.data.byteLength;
    if (batchBytes >= INJECT_BATCH_BYTES) {
      const stop = await flush(request.recipients.slice(index + 1));
      if (stop) return stop;
    }
  }
  return (await flush([])) ?? { status: 200, body: response };
}

/**
 * One recipient's copy: rendered, CRLF line endings, trace headers, HTTP meta, through
 * `http_message_generated`. `'dropped'` when the policy sent it to queue `null` (KumoMTA
 * neither spools nor logs such an HTTP message).
 *
 * @throws TemplateError when rendering fails; the policy's error or rejection.
 */
async function generateOne(
  request: InjectRequest,
  recipient: InjectRecipient,
  generate: Generate,
  peer: InjectPeer,
  deps: InjectDeps,
): Promise<AcceptedMessage | 'dropped'> {
  const trace: TraceHeaders = { ...HTTP_TRACE, ...request.trace_headers };
  const id = newSpoolId();
  let data: Uint8Array = Buffer.from(generate(recipient, id).replace(/\r?\n/g, '\r\n'), 'utf8');
  if (trace.received_header) {
    data = prependHeader(
      data,
      receivedHeader({
        ehlo: peer.remoteAddress,
        peerIp: peer.remoteAddress,
        hostname: deps.hostname,
        localIp: peer.localAddress,
        protocol: 'HTTP',
        id,
        recipient: recipient.email,
        time: (deps.now ?? Date.now)(),
      }),
    );
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
  if (deps.policy.hasEvent('http_message_generated')) {
    message = (
      await deps.policy.callWithMessage('http_message_generated', message, [peer.caller.info])
    ).message;
  }
  const meta = { ...message.meta } as Record<string, MetaValue>;
  if (queueOf({ recipients: message.recipients, meta }) === 'null') return 'dropped';
  const header = trace.supplemental_header
    ? supplementalHeader(trace.header_name, message.recipients, meta, trace.include_meta_names)
    : '';
  return {
    id: message.id,
    sender: message.sender,
    recipients: [...message.recipients],
    meta,
    data: header ? prependHeader(message.data, header) : message.data,
  };
}
