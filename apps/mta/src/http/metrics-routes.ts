import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { AccessHooks } from './access-hooks.js';

/** `GET /metrics` (Prometheus text), trusted hosts only. */
export function registerMetricsRoutes(
  app: FastifyInstance,
  access: AccessHooks,
  registry: Registry,
): void {
  app.get('/metrics', { onRequest: access.trustedOnly }, async (_request, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
}
