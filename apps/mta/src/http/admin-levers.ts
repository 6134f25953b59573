import { errorText } from '@sterna/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AdminApi } from '../queue/admin-types.js';
import {
  inspectReadyQueue,
  inspectScheduledQueue,
  readyQueueStates,
  resolveEgressPathReply,
  suspensionEntry,
} from '../queue/queue-inspect.js';
import { badRequest, lifetime, notFound, parseOr400 as parse } from './admin-parse.js';
import { TEXT } from './error-replies.js';
import {
  emptyReply,
  idReply,
  inspectReadyQueueReply,
  inspectScheduledQueueReply,
  pathOverrideEntry,
  readyQueueStatesReply,
  readyQueueSuspensionEntry,
  resolveEgressPathSchema,
} from './reply-schemas.js';
import { adminDocs } from './route-docs.js';

/** What the lever endpoints need beyond the engine. */
export interface LeverOptions {
  readonly now: () => number;
  /**
   * Starts a new config epoch (`POST /api/admin/bump-config-epoch`). Without it that endpoint
   * answers 501.
   */
  readonly bumpConfigEpoch?: (() => void) | undefined;
  /** The delivery watchdog in seconds, reported as `watchdog_threshold`. @default 600 */
  readonly deliveryWatchdog?: number | undefined;
}

// serde's reading of a query boolean.
const flag = z.enum(['true', 'false']).optional();
const nullableText = z.string().nullish();

const suspendReadyQueueSchema = z.strictObject({
  name: z.string().min(1).describe('The ready queue, `<source>-><site>@<protocol>`'),
  reason: z.string().min(1),
  duration: z
    .union([z.string(), z.number()])
    .nullish()
    .describe("Humantime text (`'5m'`) or seconds; 5 minutes when absent"),
  expires: z.string().nullish().describe('RFC 3339 end time, instead of `duration`'),
});
const cancelSchema = z.strictObject({ id: z.string().min(1) });
const rebindSchema = z.strictObject({
  domain: nullableText,
  routing_domain: nullableText,
  tenant: nullableText,
  campaign: nullableText,
  reason: z.string().min(1),
  data: z.record(z.string(), z.string()).describe('Meta values to set on each matched message'),
  always_flush: z.boolean().optional(),
  suppress_logging: z.boolean().optional(),
  trigger_rebind_event: z.boolean().optional(),
});
const inspectSchedQuery = z.strictObject({
  queue_name: z.string().min(1),
  want_body: flag,
  limit: z
    .string()
    .regex(/^\d+$/, 'expected a whole number of messages')
    .optional()
    .describe('At most this many messages'),
});
const inspectReadyQuery = z.strictObject({
  queue_name: z.string().min(1),
  include_scheduled_queues: flag,
});
const readyStatesQuery = z.strictObject({
  queues: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .describe('Ready queue names (repeat the key for several); all when absent'),
});
const resolveQuery = z.strictObject({
  domain: z.string().min(1),
  source: z.string().min(1).optional().describe('The egress source; `unspecified` when absent'),
});
const emptyBody = z.strictObject({});

/** Drops null values (KumoMTA's optional nullable fields) so they read as absent. */
function withoutNulls<T extends Record<string, unknown>>(
  value: T,
): { [K in keyof T]: Exclude<T[K], null> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null)) as {
    [K in keyof T]: Exclude<T[K], null>;
  };
}

/**
 * Registers KumoMTA's shaping levers behind `guard`: `suspend-ready-q/v1` (POST/GET/DELETE),
 * `rebind/v1`, `inspect-sched-q/v1`, `inspect-ready-q/v1`, `ready-q-states/v1`,
 * `resolve-egress-path/v1` and `bump-config-epoch`, with KumoMTA's bodies, queries and replies.
 */
export function registerLeverRoutes(
  app: FastifyInstance,
  admin: AdminApi,
  guard: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>,
  options: LeverOptions,
): void {
  const opts = { onRequest: guard };
  const { now } = options;
  const watchdog = options.deliveryWatchdog ?? 600;

  app.post(
    '/api/admin/suspend-ready-q/v1',
    {
      ...opts,
      ...adminDocs({
        summary: 'Suspends a ready queue while the rule lasts',
        description: 'Its messages wait; no new connection opens. `kcli suspend-ready-q`.',
        body: suspendReadyQueueSchema,
        response: idReply,
      }),
    },
    async (request, reply) => {
      const body = parse(suspendReadyQueueSchema, request.body, reply);
      if (!body) return reply;
      let duration: number;
      try {
        duration = lifetime(body, now());
      } catch (error) {
        return badRequest(reply, error);
      }
      return admin.suspendReadyQueue({ name: body.name, reason: body.reason, duration });
    },
  );
  app.get(
    '/api/admin/suspend-ready-q/v1',
    {
      ...opts,
      ...adminDocs({
        summary: 'Lists the active ready-queue suspensions',
        response: z.array(readyQueueSuspensionEntry),
      }),
    },
    async () => admin.listReadyQueueSuspensions().map(suspensionEntry),
  );
  app.delete(
    '/api/admin/suspend-ready-q/v1',
    {
      ...opts,
      ...adminDocs({
        summary: 'Cancels a ready-queue suspension',
        description: "The queue's messages go at once.",
        body: cancelSchema,
        response: emptyReply,
        errors: { 404: 'No ready-queue suspension with that id' },
      }),
    },
    async (request, reply) => {
      const body = parse(cancelSchema, request.body, reply);
      if (!body) return reply;
      if (!admin.cancelReadyQueueSuspension(body.id))
        return notFound(reply, `no ready-queue suspension with id ${body.id}`);
      return {};
    },
  );

  // Sterna's own: what automation's SetConfig / SetDomainConfig changed, for how long (its
  // suspensions and bounces are in the suspend, suspend-ready-q and bounce lists).
  app.get(
    '/api/admin/shaping-overrides/v1',
    {
      ...opts,
      ...adminDocs({
        summary: 'Lists the egress path overrides automation made',
        description:
          "Sterna's own: what shaping automation's `SetConfig` / `SetDomainConfig` changed, and for how long.",
        response: z.array(pathOverrideEntry),
      }),
    },
    async () => admin.listPathOverrides(),
  );

  app.post(
    '/api/admin/rebind/v1',
    {
      ...opts,
      ...adminDocs({
        summary: 'Re-evaluates the queues of matching scheduled messages',
        description:
          'Applies `data` to each matched message (or hands it to `rebind_message` with `trigger_rebind_event`) and moves it to the queue it now resolves to; `AdminRebind` records unless `suppress_logging`. `kcli rebind`.',
        body: rebindSchema,
        response: emptyReply,
      }),
    },
    async (request, reply) => {
      const body = parse(rebindSchema, request.body, reply);
      if (!body) return reply;
      await admin.rebind(withoutNulls(body));
      return {};
    },
  );

  app.get(
    '/api/admin/inspect-sched-q/v1',
    {
      ...opts,
      ...adminDocs({
        summary: 'Shows a scheduled queue and its waiting messages',
        description: '`kcli inspect-sched-q`.',
        query: inspectSchedQuery,
        response: inspectScheduledQueueReply,
        errors: { 404: 'No scheduled queue with that name' },
      }),
    },
    async (request, reply) => {
      const query = parse(inspectSchedQuery, request.query, reply);
      if (!query) return reply;
      const count = admin.view.scheduledQueues().get(query.queue_name);
      if (count === undefined)
        return notFound(reply, `no scheduled queue named '${query.queue_name}'`);
      const limit = query.limit === undefined ? count : Number(query.limit);
      const messages = admin.view.scheduledMessages(query.queue_name, limit);
      const bodies = new Map<string, string>();
      if (query.want_body === 'true') {
        for (const message of messages) {
          const found = await admin.inspectMessage(message.id, true);
          if (found?.message.data !== undefined) bodies.set(message.id, found.message.data);
        }
      }
      const info = admin.view.scheduledQueueInfo(query.queue_name);
      return inspectScheduledQueue(query.queue_name, count, messages, {
        now: now(),
        bodies,
        queueConfig: info?.queue_config,
        lastChanged: info?.last_changed,
      });
    },
  );

  app.get(
    '/api/admin/inspect-ready-q/v1',
    {
      ...opts,
      ...adminDocs({
        summary: 'Shows a ready queue: its state, egress path and limits',
        description: '`kcli inspect-ready-q`.',
        query: inspectReadyQuery,
        response: inspectReadyQueueReply,
        errors: { 404: 'No ready queue with that name' },
      }),
    },
    async (request, reply) => {
      const query = parse(inspectReadyQuery, request.query, reply);
      if (!query) return reply;
      const view = admin.view.readyQueues().find((q) => q.name === query.queue_name);
      if (!view) return notFound(reply, `no ready queue named '${query.queue_name}'`);
      return inspectReadyQueue(view, {
        now: now(),
        watchdog,
        includeScheduledQueues: query.include_scheduled_queues === 'true',
      });
    },
  );

  app.get(
    '/api/admin/ready-q-states/v1',
    {
      ...opts,
      ...adminDocs({
        summary: 'Lists the ready queues held by a connection limit or rate',
        description: 'A queue in neither state is not listed. `kcli ready-q-states`.',
        query: readyStatesQuery,
        response: readyQueueStatesReply,
      }),
    },
    async (request, reply) => {
      const query = parse(readyStatesQuery, request.query, reply);
      if (!query) return reply;
      const names = query.queues === undefined ? [] : [query.queues].flat();
      return readyQueueStates(admin.view.readyQueues(), names);
    },
  );

  app.get(
    '/api/admin/resolve-egress-path/v1',
    {
      ...opts,
      ...adminDocs({
        summary: 'Resolves the queue and egress path a message to a domain would use',
        description: 'Asks the policy as a real message would. `kcli resolve-egress-path`.',
        query: resolveQuery,
        response: resolveEgressPathSchema,
        errors: {
          500: "The policy's `get_egress_path_config` (or queue config) failed: its error",
        },
      }),
    },
    async (request, reply) => {
      const query = parse(resolveQuery, request.query, reply);
      if (!query) return reply;
      const source = query.source ?? 'unspecified';
      try {
        return resolveEgressPathReply(await admin.view.resolveEgressPath(query.domain, source));
      } catch (error) {
        // The policy's own failure (a get_egress_path_config error): the operator needs its text.
        return reply
          .code(500)
          .type(TEXT)
          .send(
            `cannot resolve the egress path for ${query.domain} from ${source}: ${errorText(error)}`,
          );
      }
    },
  );

  app.post(
    '/api/admin/bump-config-epoch',
    {
      ...opts,
      ...adminDocs({
        summary: 'Starts a new config epoch',
        description: 'Cached policy data is read again. Takes an empty body or none.',
        body: emptyBody,
        errors: { 501: 'The listener was started without config epochs' },
      }),
    },
    async (request, reply) => {
      if (!parse(emptyBody, request.body, reply)) return reply;
      if (!options.bumpConfigEpoch)
        return reply.code(501).type(TEXT).send('this listener was started without config epochs');
      options.bumpConfigEpoch();
      return reply.code(200).send();
    },
  );
}
