import { z } from 'zod';

/**
 * The wire shapes of KumoMTA's trace streams (`kumo_api_types`' `TraceSmtpV1*` and
 * `TraceSmtpClientV1*`): serde's externally tagged enums, so a bare variant is a string
 * (`"Connected"`) and one with data an object keyed by its name (`{"Read": "EHLO x\r\n"}`).
 */

const diagnostic = z.object({ Diagnostic: z.object({ level: z.string(), message: z.string() }) });
const abbreviated = z.object({ snippet: z.string(), len: z.number().int() });

/** One step of an inbound session (`TraceSmtpV1Payload`). */
export const serverPayloadSchema = z.union([
  z.enum(['Connected', 'Closed']),
  z.object({ Read: z.string() }).describe('what the client sent: a command line, or the data'),
  z.object({ Write: z.string() }).describe('a reply the server wrote'),
  diagnostic,
  z.object({
    Callback: z.object({
      name: z.string(),
      result: z.unknown().nullable(),
      error: z.string().nullable(),
    }),
  }),
  z.object({
    MessageDisposition: z.object({
      relay: z.boolean(),
      log_arf: z.unknown(),
      log_oob: z.unknown(),
      queue: z.string(),
      meta: z.record(z.string(), z.unknown()),
      sender: z.string(),
      recipient: z.union([z.string(), z.array(z.string())]),
      id: z.string(),
      was_arf_or_oob: z.boolean().nullable().optional(),
      will_enqueue: z.boolean().nullable().optional(),
    }),
  }),
  z.object({ AbbreviatedRead: abbreviated }),
]);
export type ServerTracePayload = z.infer<typeof serverPayloadSchema>;

/** One step of an outbound session (`TraceSmtpClientV1Payload`). */
export const clientPayloadSchema = z.union([
  z.enum(['BeginSession', 'Connected', 'Closed', 'MessageObtained']),
  z.object({ Read: z.string() }).describe('a reply the peer sent'),
  z.object({ Write: z.string() }).describe('a command, or the message data, written'),
  diagnostic,
  z.object({ AbbreviatedWrite: abbreviated }),
]);
export type ClientTracePayload = z.infer<typeof clientPayloadSchema>;

/** One message of `GET /api/admin/trace-smtp-server/v1`. */
export const serverEventSchema = z.object({
  conn_meta: z
    .record(z.string(), z.unknown())
    .describe('the connection meta: received_from, received_via, hostname, ehlo_domain…'),
  payload: serverPayloadSchema,
  when: z.string().describe('RFC 3339 time of the event'),
});
export type ServerTraceEvent = z.infer<typeof serverEventSchema>;

/** One message of `GET /api/admin/trace-smtp-client/v1`. */
export const clientEventSchema = z.object({
  conn_meta: z
    .record(z.string(), z.unknown())
    .describe(
      'the session: ready_queue, egress_pool, egress_source, mx_host, mx_addr, source_address, and the current message: domain, routing_domain, tenant, campaign, mail_from, rcpt_to',
    ),
  payload: clientPayloadSchema,
  when: z.string().describe('RFC 3339 time of the event'),
});
export type ClientTraceEvent = z.infer<typeof clientEventSchema>;

const strings = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]));
const flag = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', ''])])
  .optional()
  .transform((v) => v === true || v === 'true' || v === '1' || v === '');

/** `TraceSmtpV1Request`: which inbound sessions to trace. */
export const serverRequestSchema = z.object({
  source_addr: strings.describe('client addresses (CIDR); none: every session'),
  terse: flag.describe('abbreviate the data read to its first line (AbbreviatedRead)'),
});
export type ServerTraceRequest = z.output<typeof serverRequestSchema>;

/** `TraceSmtpClientV1Request`: which outbound sessions to trace; each list empty matches all. */
export const clientRequestSchema = z.object({
  campaign: strings,
  tenant: strings,
  domain: strings,
  routing_domain: strings,
  egress_pool: strings,
  egress_source: strings,
  mail_from: strings,
  rcpt_to: strings,
  source_addr: strings.describe('local addresses the session leaves from (CIDR)'),
  mx_host: strings,
  ready_queue: strings,
  mx_addr: strings.describe('MX host addresses (CIDR)'),
  terse: flag.describe('abbreviate the data written to its first line (AbbreviatedWrite)'),
});
export type ClientTraceRequest = z.output<typeof clientRequestSchema>;
