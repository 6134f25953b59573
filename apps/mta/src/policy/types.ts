import type { MessageSnapshot } from '@sterna/lua';

/** A message as it crosses into the policy: plain data (the Lua runtime's snapshot). */
export type PolicyMessage = MessageSnapshot;

/** `kumo.reject(code, text)` as it reaches the daemon. */
export interface PolicyRejection {
  readonly code: number;
  readonly text: string;
}

/** The policy events the listeners fire. */
export interface ReceptionPolicy {
  hasEvent(event: string): boolean;
  /** Fires an event with plain arguments; rejects with a {@link PolicyRejection}-shaped error on `kumo.reject`. */
  call(event: string, args: readonly unknown[]): Promise<unknown>;
  /** Fires an event whose first argument is a message; resolves with the message as the policy left it. */
  callWithMessage(
    event: string,
    message: PolicyMessage,
    args: readonly unknown[],
  ): Promise<{ readonly result: unknown; readonly message: PolicyMessage }>;
}

/** The rejection carried by an error thrown from the policy, if it is one. */
export function rejectionOf(error: unknown): PolicyRejection | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, text } = error as { code?: unknown; text?: unknown };
  return typeof code === 'number' && typeof text === 'string' ? { code, text } : undefined;
}
