import {
  type EgressPathConfig,
  failAll,
  internalFailure,
  type Message,
  type Outcome,
} from '@sterna/core';
import { peerOf } from './candidates.js';
import type { OpenSession } from './handshake.js';
import { runTransaction } from './transaction.js';

/** What delivering one message left behind. */
export interface DeliveryResult {
  /** One per recipient of the message, in its order. */
  readonly outcomes: Outcome[];
  /** An envelope failed at the end: RSET before the next message. */
  readonly needsReset: boolean;
  /** The session died without a reply while sending. */
  readonly transportError: boolean;
}

/**
 * Delivers one message over an open session: RSET first when the last envelope failed, then
 * transactions of at most `max_recipients_per_batch` recipients, retrying at once recipients
 * refused as "too many recipients" while others were taken (as KumoMTA does).
 */
export async function deliverMessage(
  open: OpenSession,
  message: Message,
  needsReset: boolean,
  path: EgressPathConfig,
  siteName: string,
): Promise<DeliveryResult> {
  const { session, candidate } = open;
  if (needsReset && !(await session.reset())) {
    const why = session.reason?.message ?? 'RSET failed';
    return {
      outcomes: failAll(message.recipients, internalFailure(`failed to send message: ${why}`)),
      needsReset: false,
      transportError: true,
    };
  }
  const peer = peerOf(candidate);
  const outcomes = new Map<string, Outcome>();
  let pending = [...message.recipients];
  let reset = false;
  let transportError = false;
  const batch = Math.max(1, path.max_recipients_per_batch);
  // Each round decides at least one recipient, so this ends after at most one round each.
  for (let round = 0; pending.length > 0 && round <= message.recipients.length; round++) {
    const recipients = pending.slice(0, batch);
    pending = pending.slice(batch);
    const result = await runTransaction(open, message, recipients, {
      path,
      siteName,
      peer,
      tls: open.tls,
      source_address: open.sourceAddress,
    });
    transportError ||= result.transportError;
    const retry = new Set(
      result.fatal || result.tooMany.length === recipients.length ? [] : result.tooMany,
    );
    for (const outcome of result.outcomes) {
      if (!retry.has(outcome.recipient)) outcomes.set(outcome.recipient, outcome);
    }
    pending = [...retry, ...pending];
    if (result.dirty && !result.fatal) {
      if (!path.enable_rset) {
        // Without RSET a refused envelope leaves the peer mid-transaction: start afresh.
        session.destroy(new Error('the envelope failed and enable_rset is false'));
      } else if (pending.length > 0) {
        await session.reset();
      } else {
        reset = true;
      }
    }
    if (result.fatal || !session.usable) {
      session.destroy();
      const why = internalFailure(
        'failed to send message: the session ended before this recipient was tried',
      );
      for (const r of pending) if (!outcomes.has(r)) outcomes.set(r, { recipient: r, ...why });
      break;
    }
  }
  return {
    outcomes: message.recipients.map((r) => outcomes.get(r)!),
    needsReset: reset,
    transportError,
  };
}
