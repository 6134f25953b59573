// Placeholder wiring for the OpenAPI routes (issue 19); the OpenAPI work fills it in.
import type { FastifyInstance } from 'fastify';
import type { CatalogedRoute } from './route-docs.js';

/** Serves `/api-docs/openapi.json` (generated from `routes`) and a browsable page. */
export function registerOpenApiRoutes(
  _app: FastifyInstance,
  _routes: readonly CatalogedRoute[],
): void {}
