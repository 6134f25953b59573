import type { AddressInfo } from 'node:net';
import { cidrSet, errorText, type Logger } from '@sterna/core';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import type { ReceptionPolicy } from '../policy/types.js';
import type { AdminApi, EngineStats } from '../queue/admin-types.js';
import type { RecordSink } from '../queue/types.js';
import type { Receiver } from '../reception/receiver.js';
import { parseListen } from '../smtp/params.js';
import { registerAdminRoutes } from './admin.js';
import { type Caller, identify } from './auth.js';
import { answerBeforeBody } from './early-answer.js';
import { httpError } from './errors.js';
import { decodeBody } from './gzip.js';
import { injectMessages } from './inject.js';
import { describeIssues, injectRequestSchema } from './inject-request.js';
import { parseJsonBody } from './json-body.js';
import { createMetrics } from './metrics.js';
import type { HttpListenerParams } from './params.js';

/** What an HTTP listener is built from. */
export interface HttpListenerDeps {
  /** Fires `http_server_validate_auth_basic` and `http_message_generated`. */
  readonly policy: ReceptionPolicy;
  /** Spools, logs `Reception` and queues what is injected (only `accept` is used). */
  readonly receiver: Pick<Receiver, 'accept'>;
  /** The queue engine's admin operations. */
  readonly admin: AdminApi;
  /** Figures for `/metrics`, read at every scrape. */
  readonly stats: () => EngineStats;
  /** Log records (kept for parity with the SMTP listener; injection logs through the receiver). */
  readonly logs: RecordSink;
  readonly nodeId: string;
  readonly log: Logger;
  /** The certificate for `use_tls` when the params name none (the daemon's self-signed pair). */
  readonly tls?: { readonly key: string; readonly cert: string } | undefined;
  /** Node process metrics (`process_*`, `nodejs_*`) on `/metrics`. @default true */
  readonly processMetrics?: boolean | undefined;
  readonly now?: (() => number) | undefined;
}

/** A running HTTP listener. */
export interface HttpListener {
  /** The bound address, `host:port`. */
  readonly address: string;
  /** Stops accepting and waits for requests in flight; idempotent. */
  close(): Promise<void>;
}

/** KumoMTA's text for a body over `request_body_limit`. */
export const BODY_LIMIT_TEXT = 'Failed to buffer the request body: length limit exceeded';
const TEXT = 'text/plain; charset=utf-8';

/**
 * Starts KumoMTA's HTTP API: `POST /api/inject/v1` (trusted hosts, or Basic auth accepted by
 * `http_server_validate_auth_basic`), `GET /api/check-liveness/v1` (anyone), `GET /metrics`
 * and the admin endpoints (trusted hosts only).
 *
 * @throws SternaError `STERNA_HTTP_PARAMS` for a bad `listen`, `trusted_hosts` or missing TLS
 *   material; the listen error (`EADDRINUSE`…) when the address cannot be bound.
 */
export async function startHttpListener(
  params: HttpListenerParams,
  deps: HttpListenerDeps,
): Promise<HttpListener> {
  const now = deps.now ?? Date.now;
  let host: string;
  let port: number;
  let trusted: (ip: string) => boolean;
  try {
    ({ host, port } = parseListen(params.listen));
    trusted = cidrSet(params.trusted_hosts, 'trusted_hosts');
  } catch (error) {
    throw httpError('STERNA_HTTP_PARAMS', `kumo.start_http_listener: ${errorText(error)}`, error);
  }
  let https: { key: string; cert: string } | null = null;
  if (params.use_tls) {
    const key = params.tls_private_key ?? deps.tls?.key;
    const cert = params.tls_certificate ?? deps.tls?.cert;
    if (!key || !cert)
      throw httpError(
        'STERNA_HTTP_PARAMS',
        'kumo.start_http_listener: use_tls needs tls_certificate and tls_private_key',
      );
    https = { key, cert };
  }

  const app = Fastify({
    logger: false,
    https,
    bodyLimit: params.request_body_limit,
    // Idle sockets are dropped after a minute; a whole request must arrive within two.
    connectionTimeout: 60_000,
    requestTimeout: 120_000,
    forceCloseConnections: 'idle',
  });
  const registry = createMetrics(deps.stats, { processMetrics: deps.processMetrics });
  const callers = new WeakMap<FastifyRequest, Caller>();
  // Every body of this API is JSON; without fastify's text parser anything else is a 415.
  app.removeContentTypeParser('text/plain');
  // Our JSON parser: nesting capped as KumoMTA's is, and `__proto__` an ordinary key.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  answerBeforeBody(app.server, params.request_body_limit, BODY_LIMIT_TEXT);

  app.addHook('preParsing', async (request, _reply, payload) =>
    decodeBody(payload, request.headers['content-encoding'], params.request_body_limit),
  );

  app.setErrorHandler((error: Error & { code?: string; statusCode?: number }, request, reply) => {
    // Fastify asks to close after a body error; answerBeforeBody drains the upload instead, so
    // the client reads this answer rather than a reset.
    reply.removeHeader('connection');
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) {
      return reply.code(413).type(TEXT).send(BODY_LIMIT_TEXT);
    }
    const status =
      typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500
        ? error.statusCode
        : 500;
    if (status === 500)
      deps.log.error('http request failed', { url: request.url, error: errorText(error) });
    return reply
      .code(status)
      .type(TEXT)
      .send(status === 500 ? 'internal error' : error.message);
  });

  const trustedOnly = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!trusted(request.socket.remoteAddress ?? '')) {
      // Returning the reply tells fastify the hook answered: the route does not run.
      return reply.code(403).type(TEXT).send('forbidden: only trusted_hosts may use this endpoint');
    }
    return undefined;
  };

  // Authentication runs before the body is read: an unknown peer cannot make us buffer 2 MiB.
  const authenticate = async (request: FastifyRequest, reply: FastifyReply) => {
    const caller = await identify(
      request.socket.remoteAddress ?? '',
      request.headers.authorization,
      trusted,
      deps.policy,
      deps.log,
    );
    if (!caller) {
      return reply
        .code(401)
        .header('www-authenticate', 'Basic realm="sterna"')
        .type(TEXT)
        .send('unauthorized');
    }
    callers.set(request, caller);
    return undefined;
  };

  app.get('/api/check-liveness/v1', async (_request, reply) => reply.type(TEXT).send('OK'));

  app.get('/metrics', { onRequest: trustedOnly }, async (_request, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });

  app.post('/api/inject/v1', { onRequest: authenticate }, async (request, reply) => {
    const parsed = injectRequestSchema.safeParse(request.body);
    if (!parsed.success)
      return reply
        .code(400)
        .type(TEXT)
        .send(`invalid inject request: ${describeIssues(parsed.error)}`);
    const socket = request.socket;
    const outcome = await injectMessages(
      parsed.data,
      {
        caller: callers.get(request)!,
        remoteAddress: socket.remoteAddress ?? '',
        remotePort: socket.remotePort ?? 0,
        localAddress: socket.localAddress ?? '',
        localPort: socket.localPort ?? 0,
      },
      {
        policy: deps.policy,
        receiver: deps.receiver,
        log: deps.log,
        hostname: params.hostname,
        now,
      },
    );
    if ('body' in outcome) return outcome.body;
    return reply.code(outcome.status).type(TEXT).send(outcome.text);
  });

  registerAdminRoutes(app, deps.admin, trustedOnly, now);

  await app.listen({ host, port });
  const bound = app.server.address() as AddressInfo;
  const address =
    bound.family === 'IPv6' ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`;
  let closing: Promise<void> | undefined;
  return {
    address,
    close: () => {
      closing ??= app.close().then(() => registry.clear());
      return closing;
    },
  };
}
