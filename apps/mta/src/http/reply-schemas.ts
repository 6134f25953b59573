import type { MetaValue } from '@sterna/core';
import { z } from 'zod';
import type { AdminRule, InspectedMessage, PathOverrideEntry } from '../queue/admin-types.js';
import type {
  EffectiveConstraints,
  InspectReadyQueueReply,
  InspectScheduledQueueReply,
  ReadyQueueStates,
  ResolveEgressPathReply,
  SuspendReadyQueueListEntry,
} from '../queue/queue-inspect.js';
import type { InjectResponse } from './inject.js';

// The reply shapes of the HTTP endpoints, for the OpenAPI document only (replies are built by
// the engine, not parsed). Each is checked against the TypeScript type the route returns, so a
// change to that type that the schema does not follow fails the typecheck.

/** Holds when `S`'s output and `T` are assignable both ways. */
type Same<S extends z.ZodType, T> = [z.output<S>] extends [T]
  ? [T] extends [z.output<S>]
    ? true
    : false
  : false;
const same = <S extends z.ZodType, T>(_check: Same<S, T>) => undefined;

const pathConfig = z
  .record(z.string(), z.unknown())
  .describe('The egress path config in effect (`get_egress_path_config` with overrides)');
const queueConfig = z
  .record(z.string(), z.unknown())
  .describe('The queue config (`get_queue_config`)');
// A meta value is any JSON value: no constraint in the document.
const meta = z.record(z.string(), z.custom<MetaValue>()).describe("The message's meta values");

/** `{}`: the request was carried out. */
export const emptyReply = z.strictObject({});

/** `POST /api/inject/v1`. */
export const injectReply = z.object({
  success_count: z.number().int(),
  fail_count: z.number().int(),
  failed_recipients: z.array(z.string()),
  errors: z.array(z.string()).describe('`<recipient>: <why>` for each failed recipient'),
});
same<typeof injectReply, InjectResponse>(true);

/** `POST /api/admin/bounce/v1`. */
export const bounceReply = z.object({
  id: z.string(),
  bounced: z.record(z.string(), z.number()).describe('Messages bounced now, per scheduled queue'),
  total_bounced: z.number().int(),
});

/** `POST /api/admin/suspend/v1` and `suspend-ready-q/v1`. */
export const idReply = z.object({ id: z.string().describe('Cancels the rule (DELETE with it)') });

const selector = {
  domain: z.string().optional(),
  routing_domain: z.string().optional(),
  tenant: z.string().optional(),
  campaign: z.string().optional(),
  queue_names: z.array(z.string()).readonly().optional(),
};

/** One active bounce or suspension rule. */
export const adminRule = z.object({
  ...selector,
  id: z.string(),
  reason: z.string(),
  duration: z.number().describe('Seconds left'),
});
same<typeof adminRule, AdminRule>(true);

/** `GET /api/admin/inspect-message/v1`. */
export const inspectedMessage = z.object({
  id: z.string(),
  message: z.object({
    sender: z.string(),
    recipient: z.union([z.string(), z.array(z.string()).readonly()]),
    meta,
    data: z.string().optional().describe('The message text, with `want_body=true`'),
    due: z.string().optional().describe('RFC 3339 time of the next attempt'),
    num_attempts: z.number().int(),
  }),
});
same<typeof inspectedMessage, InspectedMessage>(true);

/** One ready-queue suspension as `GET /api/admin/suspend-ready-q/v1` lists it. */
export const readyQueueSuspensionEntry = z.object({
  id: z.string(),
  name: z.string(),
  reason: z.string(),
  duration: z.string().describe('Time left, humantime text'),
  expires: z.string().describe('RFC 3339 end time'),
});
same<typeof readyQueueSuspensionEntry, SuspendReadyQueueListEntry>(true);

const queueState = z.object({ context: z.string(), since: z.string() });

/** `GET /api/admin/ready-q-states/v1`. */
export const readyQueueStatesReply = z.object({
  states_by_ready_queue: z.record(
    z.string(),
    z.object({
      connection_limited: queueState.optional(),
      connection_rate_throttled: queueState.optional(),
    }),
  ),
});
same<typeof readyQueueStatesReply, ReadyQueueStates>(true);

const ceiling = z.object({
  value: z.number(),
  source: z.union([
    z.object({ kind: z.literal('primary') }),
    z.object({ kind: z.literal('additional'), name: z.string() }),
    z.object({ kind: z.literal('reconnect_cycling') }),
    z.object({ kind: z.literal('other'), name: z.string() }),
  ]),
  display: z.string(),
});
const constraints = z.object({
  max_concurrent_dispatchers: ceiling,
  max_message_rate: ceiling.nullable(),
  max_message_rate_declared: z.string().nullable(),
  max_connection_rate: ceiling.nullable(),
  max_source_selection_rate: ceiling.nullable(),
});
same<typeof constraints, EffectiveConstraints>(true);

/** `GET /api/admin/inspect-ready-q/v1`. */
export const inspectReadyQueueReply = z.object({
  queue_name: z.string(),
  site_name: z.string().nullable(),
  egress_source: z.string(),
  egress_pool: z.string(),
  protocol: z.string(),
  state: z.object({
    connection_count: z.number().int(),
    connection_limited: queueState.nullable(),
    connection_rate_throttled: queueState.nullable(),
    ready_count: z.number().int(),
    suspended: readyQueueSuspensionEntry.nullable(),
    watchdog_threshold: z.string(),
  }),
  path_config: pathConfig,
  constraints,
  scheduled_queue_names: z.array(z.string()).optional(),
  dispatchers: z.array(z.never()).describe('Always empty: no per-connection phases are kept'),
  now: z.string(),
});
same<
  typeof inspectReadyQueueReply,
  Omit<InspectReadyQueueReply, 'path_config'> & { path_config: Record<string, unknown> }
>(true);

/** `GET /api/admin/inspect-sched-q/v1`. */
export const inspectScheduledQueueReply = z.object({
  queue_name: z.string(),
  messages: z.array(
    z.object({
      id: z.string(),
      message: inspectedMessage.shape.message.extend({
        recipient: z.union([z.string(), z.array(z.string()).readonly()]),
        due: z.string().describe('RFC 3339 time of the next attempt'),
      }),
    }),
  ),
  num_scheduled: z.number().int(),
  queue_config: queueConfig,
  delayed_metric: z.number().int(),
  now: z.string(),
  last_changed: z.string(),
});
same<typeof inspectScheduledQueueReply, InspectScheduledQueueReply>(true);

/** `GET /api/admin/resolve-egress-path/v1`. */
export const resolveEgressPathSchema = z.object({
  domain: z.string(),
  source: z.string(),
  queue_name: z.string(),
  queue_config: queueConfig,
  path_config: pathConfig,
  constraints,
  mx: z.null().describe('Not reported yet'),
});
same<
  typeof resolveEgressPathSchema,
  Omit<ResolveEgressPathReply, 'path_config'> & { path_config: Record<string, unknown> }
>(true);

/** One override from `GET /api/admin/shaping-overrides/v1`. */
export const pathOverrideEntry = z.object({
  id: z.string(),
  scope: z.union([
    z.object({ source: z.string(), site: z.string() }),
    z.object({ domain: z.string() }),
  ]),
  name: z.string().describe('The egress path key'),
  value: z.unknown(),
  reason: z.string(),
  duration: z.number().describe('Seconds left'),
  expires: z.string().describe('RFC 3339 end time'),
});
same<typeof pathOverrideEntry, PathOverrideEntry>(true);
