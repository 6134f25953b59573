import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AccessHooks } from './access-hooks.js';
import { badRequest, parseOr400 } from './admin-parse.js';
import { TEXT } from './error-replies.js';
import { documented } from './route-docs.js';

/** Changes the daemon's diagnostic log filter at run time (`kcli set-log-filter`). */
export interface DiagnosticFilter {
  /** Applies a filter; throws a message for one it cannot read. */
  set(filter: string): void;
}

const filterBody = z.strictObject({
  filter: z.string().describe('env_logger/tracing syntax, e.g. `kumod=info,kumo_lua=debug`'),
});

/** `POST /api/admin/set_diagnostic_log_filter/v1`. */
export function registerDiagnosticRoutes(
  app: FastifyInstance,
  access: AccessHooks,
  filter: DiagnosticFilter | undefined,
): void {
  app.post(
    '/api/admin/set_diagnostic_log_filter/v1',
    {
      ...documented({
        summary: 'Changes the diagnostic log filter',
        description:
          "KumoMTA's filter syntax (`kumod=info,kumo_lua=debug`, `debug`, `off`). Sterna has " +
          'one diagnostic log: the most verbose level any directive names becomes its level ' +
          '(`trace` reads as `debug`). A filter that cannot be read is a 400 naming the ' +
          'directive; the level in force stays.',
        tags: ['diagnostics'],
        access: 'trusted',
        body: filterBody,
      }),
      onRequest: access.trustedOnly,
    },
    async (request, reply) => {
      const body = parseOr400(filterBody, request.body, reply);
      if (!body) return reply;
      if (!filter)
        return reply
          .code(501)
          .type(TEXT)
          .send('this listener was started without a diagnostic log');
      try {
        filter.set(body.filter);
      } catch (error) {
        return badRequest(reply, error);
      }
      return reply.code(200).send();
    },
  );
}
