import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { packageVersion } from '../package-version.js';
import { buildOpenApiDocument, type OpenApiDocument } from './openapi-document.js';
import { renderApiPage } from './openapi-page.js';
import { type CatalogedRoute, documented } from './route-docs.js';

/** Where the OpenAPI document is served (KumoMTA's path). */
export const OPENAPI_PATH = '/api-docs/openapi.json';
/** Where the browsable page is served. */
export const API_PAGE_PATH = '/api-docs/';

// The page needs its one inline style sheet and nothing else: no script, no frame, no fetch.
const PAGE_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * Serves `GET /api-docs/openapi.json`, the OpenAPI 3.1 document generated from the docs every
 * route in `routes` carries, and the browsable page at `/api-docs/` (`/rapidoc`, KumoMTA's
 * viewer path, and `/api-docs` redirect to it). Both are open to anyone, as KumoMTA's default
 * ACL has them. Built on first request: by then every route has been registered.
 */
export function registerOpenApiRoutes(
  app: FastifyInstance,
  routes: readonly CatalogedRoute[],
): void {
  let document: OpenApiDocument | undefined;
  let json: string | undefined;
  let page: string | undefined;
  const theDocument = (): OpenApiDocument =>
    (document ??= buildOpenApiDocument(routes, packageVersion()));

  app.get(
    OPENAPI_PATH,
    documented({
      summary: 'The OpenAPI 3.1 description of this API',
      description: 'Generated from the schemas the routes validate their queries and bodies with.',
      tags: ['docs'],
      access: 'anyone',
      response: z.record(z.string(), z.unknown()).describe('An OpenAPI 3.1 document'),
    }),
    async (_request, reply) => {
      json ??= JSON.stringify(theDocument());
      return reply.type('application/json; charset=utf-8').send(json);
    },
  );

  app.get(
    API_PAGE_PATH,
    documented({
      summary: 'A browsable page of this API',
      description:
        'Every endpoint with its access, parameters and schemas; no script, no external assets.',
      tags: ['docs'],
      access: 'anyone',
      produces: 'text/html',
    }),
    async (_request, reply) => {
      page ??= renderApiPage(theDocument(), OPENAPI_PATH);
      return reply
        .type('text/html; charset=utf-8')
        .header('content-security-policy', PAGE_POLICY)
        .header('x-content-type-options', 'nosniff')
        .send(page);
    },
  );

  for (const from of ['/rapidoc', '/api-docs']) {
    app.get(
      from,
      documented({
        summary: `Redirects to ${API_PAGE_PATH}`,
        description:
          from === '/rapidoc'
            ? "KumoMTA's path for its API viewer, kept for operators' bookmarks."
            : undefined,
        tags: ['docs'],
        access: 'anyone',
        status: 302,
      }),
      async (_request, reply) => reply.redirect(API_PAGE_PATH, 302),
    );
  }
}
