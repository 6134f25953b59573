import { z } from 'zod';
import { duration, luaArray, luaTable, parseWith, throttle } from './schema-helpers.js';

const SHRINK_POLICIES = ['ShrinkDataAndMeta', 'ShrinkData', 'NoShrink'] as const;

/** `kumo.make_queue_config{…}`: KumoMTA's keys and defaults (kumo-reference §1). */
export const queueConfigSchema = z.strictObject({
  retry_interval: duration.default(1200),
  max_retry_interval: duration.optional(),
  max_age: duration.default(604_800),
  egress_pool: z.string().optional(),
  max_message_rate: throttle.optional(),
  overall_max_message_rate: throttle.optional(),
  protocol: luaTable.default({ smtp: {} }),
  reap_interval: duration.default(600),
  refresh_interval: duration.default(60),
  refresh_strategy: z.enum(['Ttl', 'Epoch']).default('Ttl'),
  strategy: z
    .enum(['TimerWheel', 'SkipList', 'SingletonTimerWheel', 'SingletonTimerWheelV2'])
    .default('SingletonTimerWheel'),
  timerwheel_tick_interval: duration.optional(),
  provider_name: z.string().optional(),
  shrink_policy: luaArray(
    z.strictObject({ interval: duration, policy: z.enum(SHRINK_POLICIES) }),
  ).default([]),
});

/**
 * A queue's configuration with KumoMTA's keys (`retry_interval`, `max_age`, `egress_pool`…),
 * durations in seconds. `protocol` is the raw table: the driver registry validates it with the
 * driver's own schema.
 */
export type QueueConfig = z.output<typeof queueConfigSchema>;

/**
 * Turns what `get_queue_config` returned (a `kumo.make_queue_config` table, or nil) into a
 * {@link QueueConfig} with KumoMTA's defaults: retry every 20 minutes doubling, 7 days max age,
 * SMTP by MX, refreshed every minute.
 *
 * @throws SternaError `STERNA_LUA_CONFIG_INVALID` naming the bad key.
 */
export function parseQueueConfig(table: unknown): QueueConfig {
  return parseWith(queueConfigSchema, table, 'make_queue_config');
}
