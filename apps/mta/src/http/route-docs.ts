import type { FastifyInstance, RouteOptions } from 'fastify';
import type { ZodType } from 'zod';

/** Who may call a route: anyone, trusted hosts only, or injection's trusted-or-Basic-auth. */
export type RouteAccess = 'anyone' | 'trusted' | 'inject';

/**
 * What the OpenAPI document says about a route. Every route carries one (in its `config`):
 * the document is generated from these, and the zod schemas named here are the ones the route
 * validates with, so the document cannot drift from what the route accepts.
 */
export interface RouteDocs {
  readonly summary: string;
  readonly description?: string | undefined;
  /** Groups in the document: `injection`, `admin`, `metrics`, `traces`, `diagnostics`, `docs`. */
  readonly tags: readonly string[];
  readonly access: RouteAccess;
  /** The query string, as the route parses it. */
  readonly query?: ZodType | undefined;
  /** The JSON request body, as the route parses it. */
  readonly body?: ZodType | undefined;
  /** The success reply's JSON body. */
  readonly response?: ZodType | undefined;
  /** The success reply's content type, when not JSON (`text/plain`, `text/html`…). */
  readonly produces?: string | undefined;
  /** A WebSocket stream: the route upgrades, `response` describes one message. */
  readonly websocket?: boolean | undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's OpenAPI description (see {@link RouteDocs}). */
    docs?: RouteDocs;
  }
}

/** Route options carrying `docs`: `app.get(url, { ...documented({…}), onRequest }, handler)`. */
export function documented(docs: RouteDocs): { config: { docs: RouteDocs } } {
  return { config: { docs } };
}

/** A registered route as the OpenAPI generator sees it. */
export interface CatalogedRoute {
  readonly method: string;
  readonly url: string;
  readonly docs: RouteDocs | undefined;
}

/**
 * Records every route registered on `app` from now on (call it before any route is added).
 * HEAD routes fastify adds for GETs are left out.
 */
export function catalogRoutes(app: FastifyInstance): readonly CatalogedRoute[] {
  const routes: CatalogedRoute[] = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method === 'HEAD') continue;
      routes.push({ method, url: route.url, docs: route.config?.docs });
    }
  });
  return routes;
}
