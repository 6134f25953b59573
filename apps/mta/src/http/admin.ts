import { isSpoolId } from '@sterna/core/engine';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AdminApi } from '../queue/admin-types.js';
import { type LeverOptions, registerLeverRoutes } from './admin-levers.js';
import { badRequest, lifetime, notFound, parseOr400 as parse } from './admin-parse.js';
import { adminRule, bounceReply, emptyReply, idReply, inspectedMessage } from './reply-schemas.js';
import { adminDocs } from './route-docs.js';

const selector = {
  domain: z.string().optional(),
  tenant: z.string().optional(),
  campaign: z.string().optional(),
  queue_names: z.array(z.string()).optional().describe('Exact scheduled queue names'),
  duration: z
    .union([z.string(), z.number()])
    .optional()
    .describe("How long the rule lasts: humantime text (`'5m'`) or seconds; 5 minutes by default"),
  expires: z.string().optional().describe('RFC 3339 end time, instead of `duration`'),
};

const bounceSchema = z.strictObject({
  ...selector,
  reason: z.string().min(1),
  routing_domain: z.string().optional(),
  suppress_logging: z.boolean().optional(),
});
const suspendSchema = z.strictObject({ ...selector, reason: z.string().min(1) });
const cancelSchema = z.strictObject({ id: z.string().min(1) });
const inspectQuery = z.strictObject({
  id: z.string().describe('The spool id'),
  want_body: z.enum(['true', 'false']).optional().describe('Include the message text as `data`'),
});

/**
 * Registers the admin endpoints on `app`, each behind `guard` (trusted hosts only): bounce,
 * suspend and inspect-message here, the shaping levers (ready-queue suspensions, rebind, the
 * inspection views, bump-config-epoch) through {@link registerLeverRoutes}. Bodies and queries
 * are validated strictly: an unknown key is a 400.
 */
export function registerAdminRoutes(
  app: FastifyInstance,
  admin: AdminApi,
  guard: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>,
  now: () => number,
  levers: Omit<LeverOptions, 'now'> = {},
): void {
  const opts = { onRequest: guard };
  registerLeverRoutes(app, admin, guard, { ...levers, now });

  app.post(
    '/api/admin/bounce/v1',
    {
      ...opts,
      ...adminDocs({
        summary: 'Bounces matching messages, and new ones while the rule lasts',
        description:
          'Each bounced message gets an `AdminBounce` record (unless `suppress_logging`). `kcli bounce`.',
        body: bounceSchema,
        response: bounceReply,
      }),
    },
    async (request, reply) => {
      const body = parse(bounceSchema, request.body, reply);
      if (!body) return reply;
      try {
        const { duration: _d, expires: _e, ...rest } = body;
        return admin.bounce({ ...rest, duration: lifetime(body, now()) });
      } catch (error) {
        return badRequest(reply, error);
      }
    },
  );
  app.get(
    '/api/admin/bounce/v1',
    {
      ...opts,
      ...adminDocs({ summary: 'Lists the active bounce rules', response: z.array(adminRule) }),
    },
    async () => admin.listBounces(),
  );
  app.delete(
    '/api/admin/bounce/v1',
    {
      ...opts,
      ...adminDocs({
        summary: 'Cancels a bounce rule',
        body: cancelSchema,
        response: emptyReply,
        errors: { 404: 'No bounce rule with that id' },
      }),
    },
    async (request, reply) => {
      const body = parse(cancelSchema, request.body, reply);
      if (!body) return reply;
      if (!admin.cancelBounce(body.id)) return notFound(reply, `no bounce rule with id ${body.id}`);
      return {};
    },
  );

  app.post(
    '/api/admin/suspend/v1',
    {
      ...opts,
      ...adminDocs({
        summary: 'Suspends delivery from matching scheduled queues while the rule lasts',
        description: 'Due messages get a TransientFailure record and wait. `kcli suspend`.',
        body: suspendSchema,
        response: idReply,
      }),
    },
    async (request, reply) => {
      const body = parse(suspendSchema, request.body, reply);
      if (!body) return reply;
      try {
        const { duration: _d, expires: _e, ...rest } = body;
        return admin.suspend({ ...rest, duration: lifetime(body, now()) });
      } catch (error) {
        return badRequest(reply, error);
      }
    },
  );
  app.get(
    '/api/admin/suspend/v1',
    {
      ...opts,
      ...adminDocs({ summary: 'Lists the active suspensions', response: z.array(adminRule) }),
    },
    async () => admin.listSuspensions(),
  );
  app.delete(
    '/api/admin/suspend/v1',
    {
      ...opts,
      ...adminDocs({
        summary: 'Cancels a suspension',
        body: cancelSchema,
        response: emptyReply,
        errors: { 404: 'No suspension with that id' },
      }),
    },
    async (request, reply) => {
      const body = parse(cancelSchema, request.body, reply);
      if (!body) return reply;
      if (!admin.cancelSuspension(body.id))
        return notFound(reply, `no suspension with id ${body.id}`);
      return {};
    },
  );

  app.get(
    '/api/admin/inspect-message/v1',
    {
      ...opts,
      ...adminDocs({
        summary: 'Shows one queued message',
        description: '`kcli inspect-message`.',
        query: inspectQuery,
        response: inspectedMessage,
        errors: { 404: 'No message with that id is queued' },
      }),
    },
    async (request, reply) => {
      const query = parse(inspectQuery, request.query, reply);
      if (!query) return reply;
      if (!isSpoolId(query.id))
        return reply
          .code(400)
          .type('text/plain; charset=utf-8')
          .send(`id: '${query.id}' is not a spool id`);
      const found = await admin.inspectMessage(query.id, query.want_body === 'true');
      if (!found) return notFound(reply, `no message with id ${query.id} is queued`);
      return found;
    },
  );
}
