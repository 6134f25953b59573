// Placeholder for the diagnostic log filter route (issue 19); the CLI work fills it in.
import type { FastifyInstance } from 'fastify';
import type { AccessHooks } from './access-hooks.js';

/** Changes the daemon's diagnostic log filter at run time (`kcli set-log-filter`). */
export interface DiagnosticFilter {
  /** Applies a filter; throws a message for one it cannot read. */
  set(filter: string): void;
}

/** `POST /api/admin/set_diagnostic_log_filter/v1`. */
export function registerDiagnosticRoutes(
  _app: FastifyInstance,
  _access: AccessHooks,
  _filter: DiagnosticFilter | undefined,
): void {}
