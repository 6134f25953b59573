import { z } from 'zod';
import { count, duration, keySource, luaArray, luaTable } from './schema-helpers.js';

/**
 * The tables of the policy's calls to other servers — `kumo.amqp.*`, `kumo.nats.*` — with
 * KumoMTA's keys (durations in seconds). Validated on the Lua worker, so a mistake raises in
 * the policy naming the key, before anything is asked of the daemon.
 */

/**
 * A message's AMQP properties, with the names `kumo.amqp.basic_publish` takes at its top level
 * (`message_type` is AMQP's `type`; `kind` is the same, as KumoMTA's build_client client spells
 * it). `delivery_mode = 2` makes the message persistent.
 */
const amqpProperties = {
  app_id: z.string().optional(),
  cluster_id: z.string().optional(),
  content_encoding: z.string().optional(),
  content_type: z.string().optional(),
  correlation_id: z.string().optional(),
  delivery_mode: count.optional(),
  expiration: z.string().optional(),
  headers: luaTable.optional(),
  message_id: z.string().optional(),
  message_type: z.string().optional(),
  priority: count.optional(),
  reply_to: z.string().optional(),
  timestamp: count.optional(),
  user_id: z.string().optional(),
};

/**
 * `client:publish{…}` of `kumo.amqp.build_client(uri)`: KumoMTA documents `routing_key`,
 * `payload` and `exchange`; its client also takes `properties` and `options` tables, which are
 * accepted here too.
 */
export const amqpPublishSchema = z.strictObject({
  routing_key: z.string(),
  payload: z.string(),
  exchange: z.string().default(''),
  properties: z.strictObject({ ...amqpProperties, kind: z.string().optional() }).optional(),
  options: z
    .strictObject({
      mandatory: z.boolean().default(false),
      immediate: z.boolean().default(false),
    })
    .optional(),
});

/** `kumo.amqp.basic_publish{ connection = {…} }`. */
export const amqpConnectionSchema = z.strictObject({
  host: z.string(),
  port: count.optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  vhost: z.string().optional(),
  connection_name: z.string().optional(),
  heartbeat: count.optional(),
  enable_tls: z.boolean().default(false),
  root_ca_cert: z.string().optional(),
  client_cert: z.string().optional(),
  client_private_key: z.string().optional(),
  pool_size: count.optional(),
  connect_timeout: duration.optional(),
  recycle_timeout: duration.optional(),
  wait_timeout: duration.optional(),
  publish_timeout: duration.optional(),
});

/** `kumo.amqp.basic_publish{…}`: the message, its properties and where to send it. */
export const amqpBasicPublishSchema = z.strictObject({
  routing_key: z.string(),
  payload: z.string(),
  exchange: z.string().default(''),
  connection: amqpConnectionSchema,
  ...amqpProperties,
  mandatory: z.boolean().default(false),
  immediate: z.boolean().default(false),
});

/**
 * What `confirm:wait()` answers: KumoMTA's field names. Sterna always asks for confirms, so the
 * status is `Ack` or `Nack`, never `NotRequested`.
 */
export interface AmqpConfirmation {
  status: 'NotRequested' | 'Ack' | 'Nack';
  reply_code?: number | undefined;
  reply_text?: string | undefined;
}

/** `kumo.nats.connect{…}`. */
export const natsConnectSchema = z.strictObject({
  servers: luaArray(z.string()).refine((list) => list.length > 0, 'no server given'),
  name: z.string().optional(),
  auth: z
    .strictObject({
      username: keySource.optional(),
      password: keySource.optional(),
      token: keySource.optional(),
    })
    .optional(),
  no_echo: z.boolean().default(false),
  max_reconnects: count.default(0),
  connection_timeout: duration.default(5),
  tls_required: z.boolean().default(false),
  tls_first: z.boolean().default(false),
  certificate: z.string().optional(),
  client_cert: z.string().optional(),
  client_key: z.string().optional(),
  ping_interval: duration.optional(),
  sender_capacity: count.optional(),
  inbox_prefix: z.string().optional(),
  request_timeout: duration.default(10),
  retry_on_initial_connect: z.boolean().default(false),
  ignore_discovered_servers: z.boolean().default(false),
  retain_servers_order: z.boolean().default(false),
});

/** `client:publish{…}` of `kumo.nats.connect`. */
export const natsPublishSchema = z.strictObject({
  subject: z.string(),
  payload: z.string(),
  headers: z.record(z.string(), z.union([z.string(), luaArray(z.string())])).optional(),
  await_ack: z.boolean().default(false),
});

export type AmqpPublishParams = z.output<typeof amqpPublishSchema>;
export type AmqpBasicPublishParams = z.output<typeof amqpBasicPublishSchema>;
export type NatsConnectParams = z.output<typeof natsConnectSchema>;
export type NatsPublishParams = z.output<typeof natsPublishSchema>;
