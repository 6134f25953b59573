import type { FastifyInstance } from 'fastify';
import type { AccessHooks } from './access-hooks.js';
import { TEXT } from './error-replies.js';
import { type InjectDeps, injectMessages } from './inject.js';
import { describeIssues, injectRequestSchema } from './inject-request.js';
import { injectReply } from './reply-schemas.js';
import { documented } from './route-docs.js';

/**
 * Registers `POST /api/inject/v1`: authenticated by `access`, the body validated strictly (an
 * unknown key is a 400), then one message per recipient through {@link injectMessages}.
 */
export function registerInjectRoute(
  app: FastifyInstance,
  access: AccessHooks,
  deps: InjectDeps,
): void {
  const docs = documented({
    summary: 'Injects messages: one per recipient, from a template or an RFC 5322 text',
    description:
      "KumoMTA's injection API. `content` is either the whole message text or a builder object (`text_body`, `html_body`, `headers`, `attachments`…); both are templates expanded per recipient with `substitutions` (`template_dialect`). Each message goes through `http_message_generated`, is spooled and queued; the reply counts the recipients that made it and why the others did not. Gzip request bodies are accepted (`content-encoding: gzip`).",
    tags: ['injection'],
    access: 'inject',
    body: injectRequestSchema,
    response: injectReply,
    errors: {
      413: 'The body (after decompression) is over `request_body_limit`',
      422: 'A template cannot be read: its error',
      503: 'The daemon cannot take messages now (shutting down, load shedding, disk full, spool starting)',
    },
  });
  app.post(
    '/api/inject/v1',
    { ...docs, onRequest: access.authenticate },
    async (request, reply) => {
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
    },
  );
}
