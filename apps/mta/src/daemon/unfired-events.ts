/**
 * The KumoMTA events the policy runtime can run (docs/policy-api.md lists every one) that the
 * daemon does not fire yet: a handler for one of them would never run. The one list of them —
 * the policy's load and `sterna --validate` warn about each one the policy handles, and
 * `unfired-events.test.ts` holds docs/policy-api.md's Events table to it.
 */
export const UNFIRED_EVENTS: readonly string[] = [
  'smtp_server_split_transaction',
  'smtp_server_rewrite_response',
  'smtp_server_get_dynamic_parameters',
  'smtp_server_message_deferred_inject',
  'smtp_client_rewrite_delivery_status',
  'requeue_message',
  'spool_message_enumerated',
  'get_acl_definition',
];

/** One warning per event the policy handles that the daemon does not fire yet. */
export function unfiredEventWarnings(hasEvent: (event: string) => boolean): string[] {
  return UNFIRED_EVENTS.filter(hasEvent).map(
    (event) => `policy handles ${event}, which Sterna does not fire yet (docs/policy-api.md)`,
  );
}
