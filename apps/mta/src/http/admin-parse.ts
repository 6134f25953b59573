import { errorText, parseDuration } from '@sterna/core';
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import { TEXT } from './error-replies.js';
import { describeIssues } from './inject-request.js';

/**
 * The validated value, or undefined after answering 400 with what is wrong (an unknown key is
 * `unknown key 'x'`). An absent body or query counts as `{}`.
 */
export function parseOr400<T>(
  schema: z.ZodType<T>,
  value: unknown,
  reply: FastifyReply,
): T | undefined {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  void reply.code(400).type(TEXT).send(describeIssues(result.error));
  return undefined;
}

/** Answers 400 with the error's text. */
export const badRequest = (reply: FastifyReply, error: unknown): FastifyReply =>
  reply.code(400).type(TEXT).send(errorText(error));

/** Answers 404 with `text`. */
export const notFound = (reply: FastifyReply, text: string): FastifyReply =>
  reply.code(404).type(TEXT).send(text);

/**
 * A rule's lifetime in seconds, as KumoMTA reads a request: `expires` (RFC 3339) wins, else
 * `duration` (humantime text like `'5m'`, or seconds), else KumoMTA's 5 minutes. An `expires`
 * in the past is a lifetime of 0.
 *
 * @throws SternaError naming `duration` or `expires` when it cannot be read.
 */
export function lifetime(
  body: {
    duration?: string | number | null | undefined;
    expires?: string | null | undefined;
  },
  now: number,
): number {
  if (body.expires !== undefined && body.expires !== null) {
    const at = Date.parse(body.expires);
    if (Number.isNaN(at)) throw new Error(`expires: '${body.expires}' is not an RFC 3339 time`);
    return Math.max(0, (at - now) / 1000);
  }
  return parseDuration(body.duration ?? '5m', 'duration');
}
