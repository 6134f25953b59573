import { errorText, makeResponse, type Outcome, type PeerAddress } from '@sterna/core';

/** How one `send`/`send_batch` ended, before it is applied to recipients. */
export type SendVerdict = {
  readonly kind: 'delivered' | 'transient' | 'permanent';
  readonly code: number;
  readonly content: string;
  readonly closes: boolean;
  readonly peer: PeerAddress | null;
};

/** `kumo.reject(code, text)` as it reaches TypeScript: a numeric code and a text. */
function rejectionOf(error: unknown): { code: number; text: string } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, text } = error as { code?: unknown; text?: unknown };
  return typeof code === 'number' && typeof text === 'string' ? { code, text } : undefined;
}

/**
 * KumoMTA's mapping (kumo-reference §3): a string is a delivery (200, the string); `kumo.reject`
 * with 4xx is a transient failure (421 also ends the session); any other code bounces; a Lua
 * error or a non-string result is a transient 400 that ends the session.
 */
export function verdictOf(
  result: { value: unknown } | { error: unknown },
  method: string,
  peer: PeerAddress,
): SendVerdict {
  if ('value' in result) {
    if (typeof result.value === 'string')
      return { kind: 'delivered', code: 200, content: result.value, closes: false, peer };
    const got = result.value === undefined || result.value === null ? 'nil' : typeof result.value;
    return internalError(`${method} method failed: it returned ${got}, not a string`);
  }
  const rejection = rejectionOf(result.error);
  if (!rejection) return internalError(`${method} method failed: ${errorText(result.error)}`);
  const { code, text } = rejection;
  if (!Number.isInteger(code) || code < 100 || code > 599)
    return internalError(`${method} method failed: kumo.reject(${code}, …) is not an SMTP code`);
  if (code >= 400 && code < 500)
    return { kind: 'transient', code, content: text, closes: code === 421, peer };
  return { kind: 'permanent', code, content: text, closes: false, peer };
}

function internalError(detail: string): SendVerdict {
  return {
    kind: 'transient',
    code: 400,
    content: `KumoMTA internal: error in deliver_message: sender:${detail}`,
    closes: true,
    peer: null,
  };
}

/** The verdict applied to every recipient of a message. */
export function outcomesFor(recipients: readonly string[], verdict: SendVerdict): Outcome[] {
  const response = makeResponse(verdict.code, verdict.content, { enhanced: null });
  return recipients.map((recipient) => ({
    recipient,
    kind: verdict.kind,
    response,
    peer: verdict.peer,
  }));
}
