import { isSpoolId } from '@sterna/core/engine';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AdminApi } from '../queue/admin-types.js';
import { type LeverOptions, registerLeverRoutes } from './admin-levers.js';
import { badRequest, lifetime, notFound, parseOr400 as parse } from './admin-parse.js';

const selector = {
  domain: z.string().optional(),
  tenant: z.string().optional(),
  campaign: z.string().optional(),
  queue_names: z.array(z.string()).optional(),
  /** KumoMTA's duration: humantime text (`'5m'`) or seconds. */
  duration: z.union([z.string(), z.number()]).optional(),
  /** RFC 3339 end time, instead of `duration`. */
  expires: z.string().optional(),
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
  id: z.string(),
  want_body: z.enum(['true', 'false']).optional(),
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

  app.post('/api/admin/bounce/v1', opts, async (request, reply) => {
    const body = parse(bounceSchema, request.body, reply);
    if (!body) return reply;
    try {
      const { duration: _d, expires: _e, ...rest } = body;
      return admin.bounce({ ...rest, duration: lifetime(body, now()) });
    } catch (error) {
      return badRequest(reply, error);
    }
  });
  app.get('/api/admin/bounce/v1', opts, async () => admin.listBounces());
  app.delete('/api/admin/bounce/v1', opts, async (request, reply) => {
    const body = parse(cancelSchema, request.body, reply);
    if (!body) return reply;
    if (!admin.cancelBounce(body.id)) return notFound(reply, `no bounce rule with id ${body.id}`);
    return {};
  });

  app.post('/api/admin/suspend/v1', opts, async (request, reply) => {
    const body = parse(suspendSchema, request.body, reply);
    if (!body) return reply;
    try {
      const { duration: _d, expires: _e, ...rest } = body;
      return admin.suspend({ ...rest, duration: lifetime(body, now()) });
    } catch (error) {
      return badRequest(reply, error);
    }
  });
  app.get('/api/admin/suspend/v1', opts, async () => admin.listSuspensions());
  app.delete('/api/admin/suspend/v1', opts, async (request, reply) => {
    const body = parse(cancelSchema, request.body, reply);
    if (!body) return reply;
    if (!admin.cancelSuspension(body.id))
      return notFound(reply, `no suspension with id ${body.id}`);
    return {};
  });

  app.get('/api/admin/inspect-message/v1', opts, async (request, reply) => {
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
  });
}
