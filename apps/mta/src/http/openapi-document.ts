import {
  type JsonSchema,
  jsonSchemaOf,
  openApiPath,
  type ParameterObject,
  queryParameters,
} from './openapi-schema.js';
import { type CatalogedRoute, type RouteAccess, type RouteDocs, TAGS } from './route-docs.js';

/** An OpenAPI 3.1 Operation Object, as far as the document uses it. */
export interface OperationObject {
  readonly operationId: string;
  /** Absent only for a route registered without docs (the OpenAPI test lists those). */
  readonly summary?: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly parameters?: readonly ParameterObject[];
  readonly requestBody?: {
    readonly description?: string;
    readonly required: boolean;
    readonly content: Record<string, { readonly schema: JsonSchema }>;
  };
  readonly responses: Record<string, ResponseObject>;
  readonly security: readonly Record<string, readonly string[]>[];
  /**
   * Who may call it: `anyone`, `trusted` (trusted hosts), `inject` or `dashboard` (trusted or
   * Basic auth).
   */
  readonly 'x-sterna-access'?: RouteAccess;
  /** The route upgrades to a WebSocket; the 101 answer's schema is one message. */
  readonly 'x-websocket'?: true;
}

/** An OpenAPI Response Object. */
export interface ResponseObject {
  readonly description: string;
  readonly content?: Record<string, { readonly schema: JsonSchema }>;
}

/** The OpenAPI 3.1 document of an HTTP listener. */
export interface OpenApiDocument {
  readonly openapi: '3.1.0';
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly tags: readonly { readonly name: string; readonly description: string }[];
  readonly paths: Record<string, Record<string, OperationObject>>;
  readonly components: {
    readonly securitySchemes: Record<string, { type: string; scheme: string; description: string }>;
  };
}

/** What each access level means, as the document and the page say it. */
export const ACCESS_TEXT: Readonly<Record<RouteAccess, string>> = {
  anyone: 'Anyone: no credentials needed.',
  trusted: "Trusted hosts only (the listener's `trusted_hosts`); any other peer gets 403.",
  inject:
    "Trusted hosts, or any peer with HTTP Basic credentials that the policy's `http_server_validate_auth_basic` accepts; others get 401.",
  dashboard:
    "Trusted hosts, or any peer with HTTP Basic credentials that the policy's `http_server_validate_auth_basic` accepts; others get 401 (403 when the policy has no such handler).",
};

const TEXT_SCHEMA = { type: 'string' };
const text = (description: string): ResponseObject => ({
  description,
  content: { 'text/plain': { schema: TEXT_SCHEMA } },
});

function security(access: RouteAccess): Record<string, string[]>[] {
  // `{}` is "no credentials": a trusted host injects without any.
  return access === 'inject' || access === 'dashboard' ? [{}, { basicAuth: [] }] : [];
}

function successResponse(docs: RouteDocs): [string, ResponseObject] {
  if (docs.websocket) {
    const content = docs.response
      ? { 'application/json': { schema: jsonSchemaOf(docs.response, 'output') } }
      : undefined;
    return [
      '101',
      {
        description: 'Switching to the WebSocket protocol; each message is shaped as below',
        ...(content ? { content } : {}),
      },
    ];
  }
  const status = String(docs.status ?? 200);
  if (docs.response)
    return [
      status,
      {
        description: 'Success',
        content: {
          [docs.produces ?? 'application/json']: { schema: jsonSchemaOf(docs.response, 'output') },
        },
      },
    ];
  if (docs.produces)
    return [
      status,
      { description: 'Success', content: { [docs.produces]: { schema: TEXT_SCHEMA } } },
    ];
  return [status, { description: status.startsWith('3') ? 'Redirect' : 'Success' }];
}

function responses(docs: RouteDocs): Record<string, ResponseObject> {
  const [status, success] = successResponse(docs);
  const all: Record<string, ResponseObject> = { [status]: success };
  if (docs.query || docs.body) all['400'] = text('The query or body is not valid: what is wrong');
  if (docs.access === 'inject' || docs.access === 'dashboard')
    all['401'] = text('Not a trusted host and no accepted credentials');
  if (docs.access === 'dashboard')
    all['403'] = text('Not a trusted host, and the policy cannot check credentials');
  if (docs.access === 'trusted') all['403'] = text('Not a trusted host');
  for (const [code, why] of Object.entries(docs.errors ?? {})) all[code] = text(why);
  return all;
}

function operationId(method: string, path: string): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  // `/api-docs/` and `/api-docs` are two routes: the trailing slash is the index.
  if (path.length > 1 && path.endsWith('/')) words.push('index');
  return [method.toLowerCase(), ...words].join('_');
}

function operation(
  route: CatalogedRoute,
  path: string,
  pathParams: ParameterObject[],
): OperationObject {
  const id = operationId(route.method, path);
  const docs = route.docs;
  if (!docs)
    return {
      operationId: id,
      description: 'Not documented.',
      tags: [],
      ...(pathParams.length > 0 ? { parameters: pathParams } : {}),
      responses: { default: { description: 'Not documented' } },
      security: [],
    };
  const parameters = [...pathParams, ...(docs.query ? queryParameters(docs.query) : [])];
  const description = [docs.description, `**Access**: ${ACCESS_TEXT[docs.access]}`]
    .filter(Boolean)
    .join('\n\n');
  return {
    operationId: id,
    summary: docs.summary,
    description,
    tags: [...docs.tags],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(docs.body
      ? {
          requestBody: {
            // A route that reads an absent body as `{}` does not need one.
            required: !docs.body.safeParse({}).success,
            ...(docs.websocket
              ? { description: 'Sent as the first text message once the WebSocket is open' }
              : {}),
            content: { 'application/json': { schema: jsonSchemaOf(docs.body, 'input') } },
          },
        }
      : {}),
    responses: responses(docs),
    security: security(docs.access),
    'x-sterna-access': docs.access,
    ...(docs.websocket ? { 'x-websocket': true as const } : {}),
  };
}

/**
 * The OpenAPI 3.1 document of the routes in `routes` (a listener's catalog), in the order they
 * were registered. A route without docs is listed without a summary rather than left out, so
 * the gap shows.
 */
export function buildOpenApiDocument(
  routes: readonly CatalogedRoute[],
  version: string,
): OpenApiDocument {
  const paths: Record<string, Record<string, OperationObject>> = {};
  const used = new Set<string>();
  for (const route of routes) {
    if (route.docs?.hidden) continue;
    const { path, parameters } = openApiPath(route.url);
    paths[path] = {
      ...paths[path],
      [route.method.toLowerCase()]: operation(route, path, parameters),
    };
    for (const tag of route.docs?.tags ?? []) used.add(tag);
  }
  const known = Object.keys(TAGS).filter((name) => used.has(name));
  const others = [...used].filter((name) => !(name in TAGS)).sort();
  return {
    openapi: '3.1.0',
    info: {
      title: 'Sterna HTTP API',
      version,
      description:
        "The HTTP listener of Sterna's daemon: KumoMTA's injection, admin and metrics endpoints, with KumoMTA's paths, bodies and replies.",
    },
    tags: [...known, ...others].map((name) => ({ name, description: TAGS[name] ?? name })),
    paths,
    components: {
      securitySchemes: {
        basicAuth: {
          type: 'http',
          scheme: 'basic',
          description:
            "Checked by the policy's `http_server_validate_auth_basic` event (injection and the dashboard).",
        },
      },
    },
  };
}
