// Placeholder for the trace WebSocket routes (issue 19); the trace work fills it in.
import type { FastifyInstance } from 'fastify';
import type { TraceHub } from '../trace/hub.js';
import type { AccessHooks } from './access-hooks.js';

/** `/api/admin/trace-smtp-server/v1` and `/api/admin/trace-smtp-client/v1`. */
export async function registerTraceRoutes(
  _app: FastifyInstance,
  _access: AccessHooks,
  _traces: TraceHub | undefined,
): Promise<void> {}
