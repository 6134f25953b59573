import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { AccessHooks } from './access-hooks.js';
import { metricsAsJson } from './metrics-json.js';
import { documented } from './route-docs.js';

/** `GET /metrics` (Prometheus text) and `GET /metrics.json` (KumoMTA's JSON), trusted hosts only. */
export function registerMetricsRoutes(
  app: FastifyInstance,
  access: AccessHooks,
  registry: Registry,
): void {
  app.get(
    '/metrics',
    {
      ...documented({
        summary: 'The metrics in the Prometheus text exposition format',
        description:
          "KumoMTA's metric names and labels; series of queues that idled out are gone from the next scrape.",
        tags: ['metrics'],
        access: 'trusted',
        produces: 'text/plain',
      }),
      onRequest: access.trustedOnly,
    },
    async (_request, reply) => {
      const text = await registry.metrics();
      return reply.type(registry.contentType).send(text);
    },
  );
  app.get(
    '/metrics.json',
    {
      ...documented({
        summary:
          'The metrics as JSON, in the shape KumoMTA serves (kcli queue-summary and top read it)',
        description:
          'An object keyed by metric name: `{help, type, value}`. `value` is a number without labels, `{label: {value: n}}` with one label, `[{label1, label2, "@": n}]` with several, `{count, sum, avg, bucket: [[le, n]]}` for a histogram, `null` with no series.',
        tags: ['metrics'],
        access: 'trusted',
      }),
      onRequest: access.trustedOnly,
    },
    async (_request, reply) => reply.type('application/json').send(await metricsAsJson(registry)),
  );
}
