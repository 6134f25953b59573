import type { AddressInfo } from 'node:net';
import type { Logger } from '@sterna/core';
import Fastify from 'fastify';
import { dashboardGuard } from '../dashboard/access.js';
import type { Dashboard } from '../dashboard/hub.js';
import { registerDashboardRoutes } from '../dashboard/routes.js';
import type { ReceptionPolicy } from '../policy/types.js';
import type { AdminApi, EngineStats } from '../queue/admin-types.js';
import type { RecordSink } from '../queue/types.js';
import type { Receiver } from '../reception/receiver.js';
import { formatBound } from '../smtp/params.js';
import type { TraceHub } from '../trace/hub.js';
import { AccessHooks } from './access-hooks.js';
import { registerAdminRoutes } from './admin.js';
import { type DiagnosticFilter, registerDiagnosticRoutes } from './diagnostic-routes.js';
import { installErrorReplies, TEXT } from './error-replies.js';
import { registerInjectRoute } from './inject-route.js';
import { resolveHttpParams, type TlsPair } from './listener-params.js';
import { createMetrics } from './metrics.js';
import { registerMetricsRoutes } from './metrics-routes.js';
import { registerOpenApiRoutes } from './openapi.js';
import type { HttpListenerParams } from './params.js';
import { installBodyHandling } from './request-bodies.js';
import { catalogRoutes, documented } from './route-docs.js';
import { registerTraceRoutes } from './trace-routes.js';

export { BODY_LIMIT_TEXT } from './request-bodies.js';

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
  readonly tls?: TlsPair | undefined;
  /** Starts a new config epoch, for `POST /api/admin/bump-config-epoch` (501 without it). */
  readonly bumpConfigEpoch?: (() => void) | undefined;
  /** The delivery watchdog in seconds, as the inspection endpoints report it. @default 600 */
  readonly deliveryWatchdog?: number | undefined;
  /** Node process metrics (`process_*`, `nodejs_*`) on `/metrics`. @default true */
  readonly processMetrics?: boolean | undefined;
  readonly now?: (() => number) | undefined;
  /** The live SMTP trace streams (`trace-smtp-server`, `trace-smtp-client`); none without it. */
  readonly traces?: TraceHub | undefined;
  /** The daemon's diagnostic log filter, for `set_diagnostic_log_filter` (501 without it). */
  readonly diagnostics?: DiagnosticFilter | undefined;
  /** The daemon's dashboard, served under `/ui` (every `/ui` path answers 501 without it). */
  readonly dashboard?: Dashboard | undefined;
}

/** A running HTTP listener. */
export interface HttpListener {
  /** The bound address, `host:port`. */
  readonly address: string;
  /** Stops accepting and waits for requests in flight; idempotent. */
  close(): Promise<void>;
}

/**
 * Starts KumoMTA's HTTP API: `POST /api/inject/v1` (trusted hosts, or Basic auth accepted by
 * `http_server_validate_auth_basic`), `GET /api/check-liveness/v1` (anyone), `GET /metrics`
 * and the admin endpoints (trusted hosts only), and the dashboard under `/ui` when `deps.dashboard`
 * is given.
 *
 * @throws SternaError `STERNA_HTTP_PARAMS` for a bad `listen`, `trusted_hosts` or missing TLS
 *   material; the listen error (`EADDRINUSE`…) when the address cannot be bound.
 */
export async function startHttpListener(
  params: HttpListenerParams,
  deps: HttpListenerDeps,
): Promise<HttpListener> {
  const now = deps.now ?? Date.now;
  const { host, port, trusted, https } = resolveHttpParams(params, deps.tls);
  const app = Fastify({
    logger: false,
    https,
    bodyLimit: params.request_body_limit,
    // Idle sockets are dropped after a minute; a whole request must arrive within two.
    connectionTimeout: 60_000,
    requestTimeout: 120_000,
    forceCloseConnections: 'idle',
  });
  installBodyHandling(app, params.request_body_limit);
  installErrorReplies(app, deps.log);
  const access = new AccessHooks(trusted, deps.policy, deps.log);
  const registry = createMetrics(deps.stats, { processMetrics: deps.processMetrics });
  // First, so that the OpenAPI document sees every route registered after it.
  const routes = catalogRoutes(app);

  app.get(
    '/api/check-liveness/v1',
    documented({
      summary: 'Answers `OK` while the daemon runs',
      tags: ['health'],
      access: 'anyone',
      produces: 'text/plain',
    }),
    async (_request, reply) => reply.type(TEXT).send('OK'),
  );
  registerMetricsRoutes(app, access, registry);
  registerInjectRoute(app, access, {
    policy: deps.policy,
    receiver: deps.receiver,
    log: deps.log,
    hostname: params.hostname,
    now,
  });
  const levers = {
    bumpConfigEpoch: deps.bumpConfigEpoch,
    deliveryWatchdog: deps.deliveryWatchdog,
  };
  registerAdminRoutes(app, deps.admin, access.trustedOnly, now, levers);
  registerDiagnosticRoutes(app, access, deps.diagnostics);
  await registerTraceRoutes(app, access, deps.traces);
  const uiGuard = dashboardGuard(trusted, deps.policy, deps.log);
  await registerDashboardRoutes(app, {
    dashboard: deps.dashboard,
    guard: uiGuard,
    adminRoutes: (scope) => registerAdminRoutes(scope, deps.admin, uiGuard, now, levers),
  });
  registerOpenApiRoutes(app, routes);

  await app.listen({ host, port });
  let closing: Promise<void> | undefined;
  return {
    address: formatBound(app.server.address() as AddressInfo),
    close: () => {
      closing ??= app.close().then(() => registry.clear());
      return closing;
    },
  };
}
