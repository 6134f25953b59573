/** A JSON-like value kept in a message's meta. */
export type MetaValue =
  | string
  | number
  | boolean
  | null
  | readonly MetaValue[]
  | { readonly [key: string]: MetaValue };

/**
 * The envelope every stage of a message shares: who it is from, who it is for, and the meta the
 * policy set. Each stage adds what it knows — the engine's accepted message its bytes, the spool
 * entry its size and schedule, the queued message its queue and times, the Lua runtime's
 * snapshot what a policy may change — and {@link Message}, what a driver holds, is built from one.
 *
 * **Naming rule.** KumoMTA's data keeps KumoMTA's keys, in every type and at every stage:
 * `num_attempts` (as in log records and `inspect-message`), the queue config's `retry_interval`,
 * `max_age`, `egress_pool`…, the egress path's `connection_limit`… A key that exists only on
 * Sterna's side — TypeScript bookkeeping KumoMTA has no name for — is camelCase.
 */
export interface Envelope {
  /** The spool id: 32 lowercase hex characters (creation time inside). */
  readonly id: string;
  /** The envelope sender (`MAIL FROM`); `''` for the null sender. */
  readonly sender: string;
  /** The envelope recipients (still to be delivered, once the message is queued). */
  readonly recipients: readonly string[];
  /** The message's meta, as the policy set it. */
  readonly meta: Readonly<Record<string, MetaValue>>;
}
