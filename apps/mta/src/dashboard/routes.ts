import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Guard } from '../http/access-hooks.js';
import { TEXT } from '../http/error-replies.js';
import { documented, hideFromDocument, type RouteDocs } from '../http/route-docs.js';
import type { AssetAnswer } from './assets.js';
import type { Dashboard } from './hub.js';
import { BadQuery, MAX_QUERY } from './journey.js';
import { SseStream } from './sse.js';

/** The 501 text of a listener made without a dashboard. */
export const NOT_ENABLED = 'the dashboard is not enabled in this listener';

/** What the dashboard's routes are registered with. */
export interface DashboardRouteOptions {
  /** The dashboard; without it every `/ui` path answers 501. */
  readonly dashboard: Dashboard | undefined;
  /** The dashboard's access rule ({@link dashboardGuard}). */
  readonly guard: Guard;
  /** Registers KumoMTA's admin routes on a scope (mounted under `/ui` behind `guard`). */
  readonly adminRoutes: (scope: FastifyInstance) => void;
}

const docs = (d: Omit<RouteDocs, 'tags' | 'access'>) =>
  documented({ ...d, tags: ['dashboard'], access: 'dashboard' });

const journeyQuery = z.object({
  q: z
    .string()
    .max(MAX_QUERY)
    .describe('A spool id, or a recipient or sender address (case-insensitive)'),
});

function sendAsset(reply: FastifyReply, answer: AssetAnswer): FastifyReply {
  if (answer.status !== 200) return reply.code(answer.status).type(TEXT).send(answer.text);
  return reply.headers(answer.headers).send(answer.body);
}

/**
 * The dashboard under `/ui`, every path behind `guard`: the page and its assets, the JSON
 * endpoints (`api/overview`, `api/queues`, `api/journey`), the event stream (`api/events`) and
 * KumoMTA's admin routes again under `/ui/api/admin/` (the same handlers and records, left out
 * of the OpenAPI document). Open event streams end when the listener closes.
 */
export async function registerDashboardRoutes(
  app: FastifyInstance,
  options: DashboardRouteOptions,
): Promise<void> {
  const { dashboard, guard } = options;
  if (!dashboard) {
    const hidden = documented({
      summary: 'The dashboard (not enabled here)',
      tags: ['dashboard'],
      access: 'anyone',
      hidden: true,
    });
    const notEnabled = async (_request: unknown, reply: FastifyReply) =>
      reply.code(501).type(TEXT).send(NOT_ENABLED);
    app.all('/ui', hidden, notEnabled);
    app.all('/ui/*', hidden, notEnabled);
    return;
  }
  const opts = { onRequest: guard };

  app.get(
    '/ui',
    { ...opts, ...docs({ summary: 'Redirects to /ui/', status: 308 }) },
    async (_request, reply) => reply.redirect('/ui/', 308),
  );
  app.get(
    '/ui/',
    {
      ...opts,
      ...docs({
        summary: 'The dashboard page',
        description:
          'The browser app (built by `pnpm build` into `dist/ui/`); 503 when it is not built.',
        produces: 'text/html',
        errors: { 503: 'The dashboard is not built' },
      }),
    },
    async (_request, reply) => sendAsset(reply, await dashboard.assets.index()),
  );
  app.get(
    '/ui/assets/*',
    {
      ...opts,
      ...docs({
        summary: "The dashboard's script, style sheet and other built files",
        produces: 'application/octet-stream',
        errors: { 404: 'No such file', 503: 'The dashboard is not built' },
      }),
    },
    async (request, reply) => {
      const name = (request.params as { '*': string })['*'];
      return sendAsset(reply, await dashboard.assets.asset(name));
    },
  );
  app.get(
    '/ui/api/overview',
    {
      ...opts,
      ...docs({
        summary: 'Totals, held messages, levers, memory, disks and what the daemon runs',
        description: 'The `Overview` of `src/dashboard/wire.ts`.',
      }),
    },
    async () => dashboard.overview(),
  );
  app.get(
    '/ui/api/queues',
    {
      ...opts,
      ...docs({
        summary: 'Scheduled and ready queues with counts, rates, limits and levers',
        description: 'The `QueuesSnapshot` of `src/dashboard/wire.ts`.',
      }),
    },
    async () => dashboard.queues(),
  );
  app.get(
    '/ui/api/journey',
    {
      ...opts,
      ...docs({
        summary: 'Finds messages by spool id or address: their log records and where they are now',
        description:
          'The `JourneySearch` of `src/dashboard/wire.ts`. Reads the local logs newest first, at most 50 segments or 64 MiB of text, and up to 200,000 of the messages the engine holds.',
        query: journeyQuery,
      }),
    },
    async (request, reply) => {
      try {
        return await dashboard.journey((request.query as { q?: unknown }).q);
      } catch (error) {
        if (error instanceof BadQuery) return reply.code(400).type(TEXT).send(error.message);
        throw error;
      }
    },
  );

  const streams = new Set<SseStream>();
  app.addHook('preClose', (done) => {
    for (const stream of streams) stream.close();
    done();
  });
  app.get(
    '/ui/api/events',
    {
      ...opts,
      ...docs({
        summary: 'Live updates as Server-Sent Events',
        description:
          '`hello` once (`{ overview, history, queues }`), `tick` every second (`{ sample, overview }`), `queues` every two seconds; `retry: 2000`, a comment every 15 s.',
        produces: 'text/event-stream',
      }),
    },
    async (_request, reply) => {
      reply.hijack();
      const stream = new SseStream(reply.raw);
      streams.add(stream);
      stream.onClose(() => streams.delete(stream));
      try {
        const unsubscribe = await dashboard.subscribe({
          send: (event, data) => stream.send(event, data),
        });
        stream.onClose(unsubscribe);
      } catch {
        stream.close();
      }
    },
  );

  await app.register(
    async (scope) => {
      scope.addHook('onRoute', hideFromDocument);
      options.adminRoutes(scope);
    },
    { prefix: '/ui' },
  );

  // Anything else under /ui: the access rule still answers first.
  app.all(
    '/ui/*',
    {
      ...opts,
      ...documented({
        summary: 'Not found',
        tags: ['dashboard'],
        access: 'dashboard',
        hidden: true,
      }),
    },
    async (request, reply) => reply.code(404).type(TEXT).send(`no dashboard path ${request.url}`),
  );
}
