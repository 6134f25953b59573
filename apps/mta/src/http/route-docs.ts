import type { FastifyInstance, RouteOptions } from 'fastify';
import type { ZodType } from 'zod';

/**
 * Who may call a route: anyone, trusted hosts only, injection's trusted-or-Basic-auth, or the
 * dashboard's rule (trusted, or Basic auth; 403 when the policy cannot check credentials).
 */
export type RouteAccess = 'anyone' | 'trusted' | 'inject' | 'dashboard';

/**
 * What the OpenAPI document says about a route. Every route carries one (in its `config`):
 * the document is generated from these, and the zod schemas named here are the ones the route
 * validates with, so the document cannot drift from what the route accepts.
 */
export interface RouteDocs {
  readonly summary: string;
  readonly description?: string | undefined;
  /**
   * Groups in the document: `injection`, `admin`, `metrics`, `traces`, `diagnostics`, `health`,
   * `dashboard`, `docs` (see {@link TAGS}).
   */
  readonly tags: readonly string[];
  /**
   * Left out of the document: the same route served again under another path (the admin
   * routes the dashboard mounts under `/ui/api/admin`), or a placeholder answering 501.
   */
  readonly hidden?: boolean | undefined;
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
  /** The success status when not 200 (a redirect's 302…). @default 200 */
  readonly status?: number | undefined;
  /**
   * The other answers and when they come, by status (`{ 404: 'no such queue' }`). The 400 of a
   * bad query or body and the 401/403 of `access` are added without being listed here.
   */
  readonly errors?: Readonly<Record<number, string>> | undefined;
}

/** The groups of the document, in the order it lists them, with what each holds. */
export const TAGS: Readonly<Record<string, string>> = {
  injection: 'Injecting messages over HTTP',
  admin: "Operating the queues: bounces, suspensions, rebinds and inspection (kcli's commands)",
  metrics: 'Prometheus and JSON metrics',
  traces: 'Live SMTP session traces (WebSocket streams)',
  diagnostics: "Changing the daemon's diagnostics at run time",
  health: 'Liveness for load balancers and orchestrators',
  dashboard:
    "The live web dashboard at `/ui/` and the JSON and event stream it reads; KumoMTA's admin routes are served again under `/ui/api/admin/` with the dashboard's access",
  docs: 'This description of the API',
};

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

/** {@link documented} for an admin route: tag `admin`, trusted hosts only. */
export function adminDocs(docs: Omit<RouteDocs, 'tags' | 'access'>): {
  config: { docs: RouteDocs };
} {
  return documented({ ...docs, tags: ['admin'], access: 'trusted' });
}

/**
 * An `onRoute` hook for a plugin scope whose routes repeat documented ones under another
 * prefix: marks each hidden, so the document lists the original only.
 */
export function hideFromDocument(route: RouteOptions): void {
  const docs = route.config?.docs;
  if (docs) route.config = { ...route.config, docs: { ...docs, hidden: true } };
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
      // Read when the document is built: a later onRoute hook (a plugin's) may mark it hidden.
      routes.push({
        method,
        url: route.url,
        get docs() {
          return route.config?.docs;
        },
      });
    }
  });
  return routes;
}
