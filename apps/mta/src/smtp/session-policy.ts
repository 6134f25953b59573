import { errorText, type Logger, type MetaValue, makeResponse } from '@sterna/core';
import { buildLogRecord } from '@sterna/core/engine';
import type { ConnectionMetaArg } from '@sterna/lua';
import type { SMTPServerSession } from 'smtp-server';
import { type PolicyMessage, type PolicyRejection, rejectionOf } from '../policy/types.js';
import type { EsmtpListenerDeps } from './listener-types.js';
import { peerOf, recordPolicyMeta, senderOf } from './session-meta.js';
import type { ServerTraceTap } from './trace-tap.js';

/**
 * What a policy event gave: its result (with the message passed first, as the policy left it,
 * and what it changed in the connection meta), or the error smtp-server replies with.
 */
export type EventOutcome =
  | {
      readonly result: unknown;
      readonly message?: PolicyMessage | undefined;
      readonly metaChanges?: Readonly<Record<string, MetaValue | undefined>> | undefined;
    }
  | { readonly error: Error };

/**
 * How an ESMTP listener answers for its policy: every 4xx/5xx it sends is logged as a
 * `Rejection` record, and each policy event's `kumo.reject` becomes the reply.
 */
export class SessionPolicy {
  readonly #deps: EsmtpListenerDeps;
  readonly #tap: ServerTraceTap | undefined;

  constructor(deps: EsmtpListenerDeps, tap?: ServerTraceTap) {
    this.#deps = deps;
    this.#tap = tap;
  }

  /**
   * Logs a `Rejection` record for the session and returns the error smtp-server replies with.
   * `recipient` defaults to every recipient of the envelope so far.
   */
  refuse(
    session: SMTPServerSession,
    rejection: PolicyRejection,
    command: string | null,
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
   * that reply; any other failure a 451. What the handler set with `conn_meta:set_meta` is kept
   * for the connection's later events (and the messages it receives), as in KumoMTA.
   */
  async fire(
    session: SMTPServerSession,
    event: string,
    args: unknown[],
    command: string | null,
    recipient?: string,
  ): Promise<EventOutcome | undefined> {
    if (!this.#deps.policy.hasEvent(event)) return undefined;
    try {
      const called = await this.#deps.policy.call(event, args);
      this.#tap?.callback(session, event, called.value);
      const sent = args.find(isConnMeta)?.__sterna_conn_meta;
      const metaChanges =
        sent && called.connMeta ? recordPolicyMeta(session, sent, called.connMeta) : undefined;
      return { result: called.value, message: called.messages[0], metaChanges };
    } catch (error) {
      this.#tap?.callback(session, event, undefined, error);
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

function isConnMeta(value: unknown): value is ConnectionMetaArg {
  return typeof value === 'object' && value !== null && '__sterna_conn_meta' in value;
}
