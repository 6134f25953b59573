import type { Logger } from '@sterna/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ReceptionPolicy } from '../policy/types.js';
import { type Caller, identify } from './auth.js';
import { TEXT } from './error-replies.js';

/** An `onRequest` hook: returns the reply when it answered (the route does not run). */
export type Guard = (
  request: FastifyRequest,
  reply: FastifyReply,
) => Promise<FastifyReply | undefined>;

/**
 * Who may call what: {@link AccessHooks.trustedOnly} for metrics and admin, and
 * {@link AccessHooks.authenticate} for injection (trusted hosts, or Basic credentials the
 * policy's `http_server_validate_auth_basic` accepts). Both run before the body is read.
 */
export class AccessHooks {
  readonly #trusted: (ip: string) => boolean;
  readonly #policy: ReceptionPolicy;
  readonly #log: Logger;
  readonly #callers = new WeakMap<FastifyRequest, Caller>();

  constructor(trusted: (ip: string) => boolean, policy: ReceptionPolicy, log: Logger) {
    this.#trusted = trusted;
    this.#policy = policy;
    this.#log = log;
  }

  /** Lets only `trusted_hosts` through; anyone else gets 403. */
  readonly trustedOnly: Guard = async (request, reply) => {
    if (!this.#trusted(request.socket.remoteAddress ?? '')) {
      return reply.code(403).type(TEXT).send('forbidden: only trusted_hosts may use this endpoint');
    }
    return undefined;
  };

  /**
   * Identifies the caller, or answers 401. Runs before the body is read: an unknown peer
   * cannot make us buffer 2 MiB.
   */
  readonly authenticate: Guard = async (request, reply) => {
    const caller = await identify(
      request.socket.remoteAddress ?? '',
      request.headers.authorization,
      this.#trusted,
      this.#policy,
      this.#log,
    );
    if (!caller) {
      return reply
        .code(401)
        .header('www-authenticate', 'Basic realm="sterna"')
        .type(TEXT)
        .send('unauthorized');
    }
    this.#callers.set(request, caller);
    return undefined;
  };

  /** The caller {@link AccessHooks.authenticate} identified for this request. */
  callerOf(request: FastifyRequest): Caller {
    return this.#callers.get(request)!;
  }
}
