import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { injectRequestSchema } from '../../src/http/inject-request.js';
import { registerOpenApiRoutes } from '../../src/http/openapi.js';
import { jsonSchemaOptions } from '../../src/http/openapi-schema.js';
import { catalogRoutes, documented } from '../../src/http/route-docs.js';
import { type Started, startTestListener } from './fixtures.js';

let started: Started | undefined;
let bare: FastifyInstance | undefined;
afterEach(async () => {
  await started?.listener.close();
  await bare?.close();
  started = undefined;
  bare = undefined;
});

// The parts of OpenAPI 3.1 the document uses, strictly where a typo would go unnoticed.
const schemaObject = z.record(z.string(), z.unknown());
const content = z.record(z.string(), z.strictObject({ schema: schemaObject }));
const operationSchema = z.strictObject({
  operationId: z.string().min(1),
  summary: z.string().min(1).optional(),
  description: z.string(),
  tags: z.array(z.string()),
  parameters: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        in: z.enum(['query', 'path', 'header', 'cookie']),
        required: z.boolean(),
        description: z.string().optional(),
        schema: schemaObject,
      }),
    )
    .optional(),
  requestBody: z
    .strictObject({ description: z.string().optional(), required: z.boolean(), content })
    .optional(),
  responses: z.record(
    z.string().regex(/^([1-5]\d\d|default)$/),
    z.strictObject({ description: z.string().min(1), content: content.optional() }),
  ),
  security: z.array(z.record(z.string(), z.array(z.string()))),
  'x-sterna-access': z.enum(['anyone', 'trusted', 'inject']).optional(),
  'x-websocket': z.literal(true).optional(),
});
const documentSchema = z.strictObject({
  openapi: z.string().regex(/^3\.1\.\d+$/),
  info: z.strictObject({
    title: z.string().min(1),
    version: z.string().min(1),
    description: z.string(),
  }),
  tags: z.array(z.strictObject({ name: z.string(), description: z.string() })),
  paths: z.record(
    z.string().startsWith('/'),
    z.partialRecord(z.enum(['get', 'put', 'post', 'delete', 'patch', 'options']), operationSchema),
  ),
  components: z.strictObject({
    securitySchemes: z.record(
      z.string(),
      z.strictObject({ type: z.literal('http'), scheme: z.string(), description: z.string() }),
    ),
  }),
});
type Doc = z.infer<typeof documentSchema>;
type Operation = z.infer<typeof operationSchema>;

const operations = (doc: Doc): [string, Operation][] =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(
      ([method, op]) => [`${method.toUpperCase()} ${path}`, op!] as [string, Operation],
    ),
  );

/** The operations without a summary: routes someone registered without `documented(…)`. */
const undocumented = (doc: Doc): string[] =>
  operations(doc)
    .filter(([, op]) => !op.summary)
    .map(([name]) => name);

async function getDocument(url: string): Promise<Doc> {
  const response = await fetch(`${url}/api-docs/openapi.json`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  return documentSchema.parse(await response.json());
}

describe('GET /api-docs/openapi.json', () => {
  it('describes every route the listener registered, each with a summary', async () => {
    started = await startTestListener();
    const doc = await getDocument(started.url);
    expect(undocumented(doc), 'routes registered without docs').toEqual([]);
    const names = operations(doc).map(([name]) => name);
    for (const expected of [
      'GET /api/check-liveness/v1',
      'POST /api/inject/v1',
      'GET /metrics',
      'POST /api/admin/bounce/v1',
      'GET /api/admin/bounce/v1',
      'DELETE /api/admin/bounce/v1',
      'POST /api/admin/suspend/v1',
      'POST /api/admin/suspend-ready-q/v1',
      'POST /api/admin/rebind/v1',
      'GET /api/admin/inspect-message/v1',
      'GET /api/admin/inspect-sched-q/v1',
      'GET /api/admin/inspect-ready-q/v1',
      'GET /api/admin/ready-q-states/v1',
      'GET /api/admin/resolve-egress-path/v1',
      'POST /api/admin/bump-config-epoch',
      'GET /api-docs/openapi.json',
      'GET /api-docs/',
      'GET /rapidoc',
    ])
      expect(names).toContain(expected);
    expect(new Set(names).size).toBe(names.length);
    const ids = operations(doc).map(([, op]) => op.operationId);
    expect(new Set(ids).size, 'unique operationIds').toBe(ids.length);
    // Every tag an operation names is declared at the top.
    const declared = new Set(doc.tags.map((t) => t.name));
    for (const [name, op] of operations(doc))
      for (const tag of op.tags) expect(declared.has(tag), `${name}: tag ${tag}`).toBe(true);
  });

  it('takes the inject body schema from the schema the route validates with', async () => {
    started = await startTestListener();
    const doc = await getDocument(started.url);
    const inject = doc.paths['/api/inject/v1']!.post!;
    const { $schema: _d, ...expected } = z.toJSONSchema(
      injectRequestSchema,
      jsonSchemaOptions('input'),
    ) as Record<string, unknown>;
    expect(inject.requestBody?.content['application/json']?.schema).toEqual(expected);
    expect(inject.requestBody?.required).toBe(true);
    expect(inject.security).toEqual([{}, { basicAuth: [] }]);
    expect(inject['x-sterna-access']).toBe('inject');
    expect(Object.keys(inject.responses).sort()).toEqual([
      '200',
      '400',
      '401',
      '413',
      '422',
      '503',
    ]);
    expect(doc.components.securitySchemes.basicAuth?.scheme).toBe('basic');
  });

  it('lists query parameters, access and reply schemas', async () => {
    started = await startTestListener();
    const doc = await getDocument(started.url);
    const inspect = doc.paths['/api/admin/inspect-message/v1']!.get!;
    expect(inspect.parameters?.map((p) => [p.name, p.in, p.required])).toEqual([
      ['id', 'query', true],
      ['want_body', 'query', false],
    ]);
    expect(inspect['x-sterna-access']).toBe('trusted');
    expect(Object.keys(inspect.responses).sort()).toEqual(['200', '400', '403', '404']);
    const reply = inspect.responses['200']!.content!['application/json']!.schema;
    expect(reply).toMatchObject({ type: 'object', required: ['id', 'message'] });
    // A DELETE with a cancel body needs one; bump-config-epoch takes none.
    expect(doc.paths['/api/admin/bounce/v1']!.delete!.requestBody?.required).toBe(true);
    expect(doc.paths['/api/admin/bump-config-epoch']!.post!.requestBody?.required).toBe(false);
    const liveness = doc.paths['/api/check-liveness/v1']!.get!;
    expect(liveness['x-sterna-access']).toBe('anyone');
    expect(liveness.security).toEqual([]);
  });

  it('is open to peers that are not trusted, as KumoMTA has it, while admin stays closed', async () => {
    started = await startTestListener({ trusted_hosts: [] });
    await getDocument(started.url);
    expect((await fetch(`${started.url}/api-docs/`)).status).toBe(200);
    expect((await fetch(`${started.url}/api/admin/bounce/v1`)).status).toBe(403);
  });
});

describe('the browsable page', () => {
  it('is served at /api-docs/, lists every path, and /rapidoc leads to it', async () => {
    started = await startTestListener();
    const doc = await getDocument(started.url);
    const response = await fetch(`${started.url}/api-docs/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await response.text();
    // Self-contained: nothing loaded from anywhere, no script.
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\ssrc=|url\(/);
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size, 'unique ids').toBe(ids.length);
    for (const [name] of operations(doc)) {
      const [method, path] = name.split(' ');
      expect(html, name).toContain(`>${method}</span> <code>${path}</code>`);
    }
    for (const from of ['/rapidoc', '/api-docs']) {
      const redirect = await fetch(`${started.url}${from}`, { redirect: 'manual' });
      expect(redirect.status).toBe(302);
      expect(redirect.headers.get('location')).toBe('/api-docs/');
    }
  });

  it('escapes what the docs say, and shows a route registered without docs', async () => {
    bare = Fastify({ logger: false });
    const routes = catalogRoutes(bare);
    bare.get(
      '/q/:name',
      documented({
        summary: 'Shows <b>a</b> queue',
        description: 'Says <script>alert("x")</script> & `<code>`',
        tags: ['admin'],
        access: 'trusted',
        query: z.strictObject({ depth: z.string().describe('"deep" <or> not') }),
      }),
      async () => ({}),
    );
    bare.post('/forgotten', async () => ({}));
    registerOpenApiRoutes(bare, routes);
    const address = await bare.listen({ host: '127.0.0.1', port: 0 });

    const doc = await getDocument(address);
    expect(undocumented(doc)).toEqual(['POST /forgotten']);
    expect(doc.paths['/q/{name}']!.get!.parameters?.map((p) => `${p.in}:${p.name}`)).toEqual([
      'path:name',
      'query:depth',
    ]);

    const html = await (await fetch(`${address}/api-docs/`)).text();
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<b>a</b>');
    expect(html).toContain('Shows &lt;b&gt;a&lt;/b&gt; queue');
    expect(html).toContain(
      'Says &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; <code>&lt;code&gt;</code>',
    );
    expect(html).toContain('&quot;deep&quot; &lt;or&gt; not');
    expect(html).toContain('(no summary)');
  });
});
