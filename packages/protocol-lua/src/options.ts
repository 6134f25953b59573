import { parseDuration } from '@sterna/core';
import { z } from 'zod';

/** KumoMTA's own events: a constructor may not take one of these names. */
export const PREDEFINED_EVENTS: ReadonlySet<string> = new Set([
  'pre_init',
  'init',
  'validate_config',
  'get_queue_config',
  'get_egress_pool',
  'get_egress_source',
  'get_egress_path_config',
  'get_listener_domain',
  'get_acl_definition',
  'smtp_server_connection_accepted',
  'smtp_server_ehlo',
  'smtp_server_auth_plain',
  'smtp_server_mail_from',
  'smtp_server_rcpt_to',
  'smtp_server_data',
  'smtp_server_split_transaction',
  'smtp_server_message_received',
  'smtp_server_rewrite_response',
  'smtp_server_get_dynamic_parameters',
  'smtp_server_message_deferred_inject',
  'smtp_client_rewrite_delivery_status',
  'http_message_generated',
  'http_server_validate_auth_basic',
  'should_enqueue_log_record',
  'requeue_message',
  'rebind_message',
  'throttle_insert_ready_queue',
  'spool_message_enumerated',
]);

const duration = z.union([z.number(), z.string()]).transform((value, ctx) => {
  try {
    return parseDuration(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

/** `protocol = { custom_lua = { constructor, batch_size, min_batch_size, max_batch_latency } }`. */
export const customLuaOptionsSchema = z.strictObject({
  custom_lua: z
    .strictObject({
      /** The event that builds a connection object; bound with `kumo.on`. */
      constructor: z
        .string()
        .min(1, 'name the event that builds the connection')
        .refine((name) => !PREDEFINED_EVENTS.has(name), {
          message:
            'collides with a predefined KumoMTA event; choose another name such as make.webhook',
        }),
      /** Messages per `send_batch` call; above 1 the connection must define `send_batch`. @default 1 */
      batch_size: z.number().int().min(1).default(1),
      /** Messages to wait for before calling `send_batch`. @default 1 */
      min_batch_size: z.number().int().min(1).default(1),
      /** How long to wait for `min_batch_size` messages. @default 0 */
      max_batch_latency: duration.default(0),
    })
    .refine((o) => o.min_batch_size <= o.batch_size, {
      message: 'min_batch_size must not exceed batch_size',
      path: ['min_batch_size'],
    }),
});

/** Validated `custom_lua` options. */
export type CustomLuaOptions = z.output<typeof customLuaOptionsSchema>;
