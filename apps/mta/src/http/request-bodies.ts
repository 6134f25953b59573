import type { FastifyInstance } from 'fastify';
import { answerBeforeBody } from './early-answer.js';
import { decodeBody } from './gzip.js';
import { parseJsonBody } from './json-body.js';

/** KumoMTA's text for a body over `request_body_limit`. */
export const BODY_LIMIT_TEXT = 'Failed to buffer the request body: length limit exceeded';

/**
 * How the listener reads request bodies: JSON only (anything else is a 415), parsed with
 * KumoMTA's nesting cap and `__proto__` as an ordinary key, gzip decoded within `limit`, and an
 * over-limit upload answered before it is read.
 */
export function installBodyHandling(app: FastifyInstance, limit: number): void {
  // Every body of this API is JSON; without fastify's text parser anything else is a 415.
  app.removeContentTypeParser('text/plain');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  answerBeforeBody(app.server, limit, BODY_LIMIT_TEXT);
  app.addHook('preParsing', async (request, _reply, payload) =>
    decodeBody(payload, request.headers['content-encoding'], limit),
  );
}
