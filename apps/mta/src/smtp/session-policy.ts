import { errorText, type Logger, makeResponse } from '@sterna/core';
import { buildLogRecord } from '@sterna/core/engine';
import type { SMTPServerSession } from 'smtp-server';
import { type PolicyRejection, rejectionOf } from '../policy/types.js';
import type { EsmtpListenerDeps } from './listener-types.js';
import { peerOf, senderOf } from './session-meta.js';

/** What a policy event gave: its result, or the error smtp-server replies with. */
export type EventOutcome = { readonly result: unknown } | { readonly error: Error };

/**
 * How an ESMTP listener answers for its policy: every 4xx/5xx it sends is logged as a
 * `Rejection` record, and each policy event's `kumo.reject` becomes the reply.
 */
export class SessionPolicy {
  readonly #deps: EsmtpListenerDeps;

  constructor(deps: EsmtpListenerDeps) {
    this.#deps = deps;
  }

  /**
   * Logs a `Rejection` record for the session and returns the error smtp-server replies with.
   * `recipient` defaults to every recipient of the envelope so far.
   */
  refuse(
    session: SMTPServerSession,
    rejection: PolicyRejection,
    command: string,
    recipient = '',
  ): Error {
    const record = buildLogRecord({
      type: 'Rejection',
      sender: senderOf(session),
      recipient: recipient || session.envelope.rcptTo.map((r) => r.address),
      response: makeResponse(rejection.code, rejection.text, { command }),
      peer_address: peerOf(session),
      reception_protocol: 'ESMTP',
      nodeid: this.#deps.nodeId,
    });
    this.#deps.logs.write(record);
    return Object.assign(new Error(rejection.text), { responseCode: rejection.code });
  }

  /**
   * Runs a policy event, if the policy handles it (else `undefined`). A `kumo.reject` becomes
   * that reply; any other failure a 451.
   */
  async fire(
    session: SMTPServerSession,
    event: string,
    args: unknown[],
    command: string,
    recipient?: string,
  ): Promise<EventOutcome | undefined> {
    if (!this.#deps.policy.hasEvent(event)) return undefined;
    try {
      return { result: await this.#deps.policy.call(event, args) };
    } catch (error) {
      return { error: this.refuse(session, this.rejectionFor(event, error), command, recipient) };
    }
  }

  /** The reply for an event that failed: its `kumo.reject`, or a logged 451. */
  rejectionFor(event: string, error: unknown): PolicyRejection {
    return rejectionOf(error) ?? internalError(this.#deps.log, event, error);
  }
}

function internalError(log: Logger, event: string, error: unknown): PolicyRejection {
  log.error(`policy event ${event} failed`, { error: errorText(error) });
  return { code: 451, text: `4.3.0 technical difficulties: ${event} failed` };
}
