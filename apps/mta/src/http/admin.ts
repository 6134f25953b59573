import { errorText, parseDuration } from '@sterna/core';
import { isSpoolId } from '@sterna/core/engine';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AdminApi } from '../queue/admin-types.js';
import { describeIssues } from './inject-request.js';

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

/** The rule's lifetime in seconds: `expires` wins, else `duration`, else KumoMTA's 5 minutes. */
function lifetime(
  body: { duration?: string | number | undefined; expires?: string | undefined },
  now: number,
): number {
  if (body.expires !== undefined) {
    const at = Date.parse(body.expires);
    if (Number.isNaN(at)) throw new Error(`expires: '${body.expires}' is not an RFC 3339 time`);
    return Math.max(0, (at - now) / 1000);
  }
  return parseDuration(body.duration ?? '5m', 'duration');
}

function parse<T>(schema: z.ZodType<T>, value: unknown, reply: FastifyReply): T | undefined {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  void reply.code(400).type('text/plain; charset=utf-8').send(describeIssues(result.error));
  return undefined;
}

const badRequest = (reply: FastifyReply, error: unknown) =>
  reply.code(400).type('text/plain; charset=utf-8').send(errorText(error));

/**
 * Registers the admin endpoints (bounce, suspend, inspect-message) on `app`, each behind
 * `guard` (trusted hosts only). Bodies are validated strictly: an unknown key is a 400.
 */
export function registerAdminRoutes(
  app: FastifyInstance,
  admin: AdminApi,
  guard: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>,
  now: () => number,
): void {
  const opts = { onRequest: guard };

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
    if (!admin.cancelBounce(body.id))
      return reply
        .code(404)
        .type('text/plain; charset=utf-8')
        .send(`no bounce rule with id ${body.id}`);
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
      return reply
        .code(404)
        .type('text/plain; charset=utf-8')
        .send(`no suspension with id ${body.id}`);
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
    if (!found)
      return reply
        .code(404)
        .type('text/plain; charset=utf-8')
        .send(`no message with id ${query.id} is queued`);
    return found;
  });
}
