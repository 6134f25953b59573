import type { FastifyInstance } from 'fastify';
import type { AccessHooks } from './access-hooks.js';
import { TEXT } from './error-replies.js';
import { type InjectDeps, injectMessages } from './inject.js';
import { describeIssues, injectRequestSchema } from './inject-request.js';

/**
 * Registers `POST /api/inject/v1`: authenticated by `access`, the body validated strictly (an
 * unknown key is a 400), then one message per recipient through {@link injectMessages}.
 */
export function registerInjectRoute(
  app: FastifyInstance,
  access: AccessHooks,
  deps: InjectDeps,
): void {
  app.post('/api/inject/v1', { onRequest: access.authenticate }, async (request, reply) => {
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
        caller: access.callerOf(request),
        remoteAddress: socket.remoteAddress ?? '',
        remotePort: socket.remotePort ?? 0,
        localAddress: socket.localAddress ?? '',
        localPort: socket.localPort ?? 0,
      },
      deps,
    );
    if ('body' in outcome) return outcome.body;
    return reply.code(outcome.status).type(TEXT).send(outcome.text);
  });
}
