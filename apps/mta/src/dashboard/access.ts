import type { Logger } from '@sterna/core';
import type { Guard } from '../http/access-hooks.js';
import { identify } from '../http/auth.js';
import { TEXT } from '../http/error-replies.js';
import type { ReceptionPolicy } from '../policy/types.js';

/** The 403 text for an untrusted peer when the policy cannot accept any credentials. */
export const DASHBOARD_FORBIDDEN =
  'forbidden: the dashboard is for trusted_hosts, or HTTP Basic credentials accepted by http_server_validate_auth_basic';

/** The realm the browser's credentials prompt names. */
export const DASHBOARD_REALM = 'Basic realm="sterna"';

/**
 * The dashboard's access rule, for every `/ui` path: a peer in `trusted_hosts` passes;
 * otherwise HTTP Basic credentials are checked by the policy's `http_server_validate_auth_basic`
 * (the call injection makes): accepted passes, refused or absent is a 401 with
 * `WWW-Authenticate` (the browser prompts). When the policy has no such handler no credential
 * could ever pass, and an untrusted peer gets 403 instead.
 */
export function dashboardGuard(
  trusted: (ip: string) => boolean,
  policy: ReceptionPolicy,
  log: Logger,
): Guard {
  return async (request, reply) => {
    const peer = request.socket.remoteAddress ?? '';
    if (trusted(peer)) return undefined;
    if (!policy.hasEvent('http_server_validate_auth_basic')) {
      return reply.code(403).type(TEXT).send(DASHBOARD_FORBIDDEN);
    }
    const caller = await identify(peer, request.headers.authorization, trusted, policy, log);
    if (caller) return undefined;
    return reply
      .code(401)
      .header('www-authenticate', DASHBOARD_REALM)
      .type(TEXT)
      .send(
        request.headers.authorization === undefined
          ? 'unauthorized: the dashboard needs HTTP Basic credentials'
          : 'unauthorized: the credentials were refused',
      );
  };
}
