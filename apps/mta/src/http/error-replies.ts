import { errorText, type Logger } from '@sterna/core';
import type { FastifyInstance } from 'fastify';
import { BODY_LIMIT_TEXT } from './request-bodies.js';

/** The content type of every plain-text answer. */
export const TEXT = 'text/plain; charset=utf-8';

/**
 * How failures are answered: a body over the limit with KumoMTA's 413 text, any other 4xx with
 * its message, everything else a logged 500 that tells the client nothing.
 */
export function installErrorReplies(app: FastifyInstance, log: Logger): void {
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
      log.error('http request failed', { url: request.url, error: errorText(error) });
    return reply
      .code(status)
      .type(TEXT)
      .send(status === 500 ? 'internal error' : error.message);
  });
}
