import { errorText, type Logger } from '@sterna/core';
import type { ReceptionPolicy } from '../policy/types.js';

/** The group KumoMTA gives a peer listed in `trusted_hosts`. */
export const TRUSTED_GROUP = 'kumomta:http-listener-trusted-ip';

/** KumoMTA's AuthInfo as the policy sees it (`http_message_generated`'s second argument). */
export interface AuthInfo {
  readonly peer_address: string | null;
  readonly identities: readonly { readonly identity: string; readonly context: string }[];
  readonly groups: readonly string[];
}

/** Who a request comes from: the AuthInfo, and the Basic user for meta `http_auth`. */
export interface Caller {
  readonly trusted: boolean;
  readonly user: string | null;
  readonly info: AuthInfo;
}

/** The user and password of an `Authorization: Basic …` header, or undefined when absent or malformed. */
export function parseBasicAuth(
  header: string | undefined,
): { user: string; password: string } | undefined {
  const m = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Works out who is calling. A trusted peer needs no credentials; Basic credentials, when sent,
 * must be accepted by the policy's `http_server_validate_auth_basic` (true, or an AuthInfo table
 * whose identities and groups are merged in). Resolves undefined when the caller is neither
 * trusted nor authenticated, or sent credentials the policy refuses.
 */
export async function identify(
  peerIp: string,
  authorization: string | undefined,
  trusted: (ip: string) => boolean,
  policy: ReceptionPolicy,
  log: Logger,
): Promise<Caller | undefined> {
  const isTrusted = trusted(peerIp);
  const groups = isTrusted ? [TRUSTED_GROUP] : [];
  const base: AuthInfo = { peer_address: peerIp, identities: [], groups };
  // Only Basic is understood; another scheme (a proxy's Bearer token) counts as no credentials.
  if (authorization === undefined || !/^basic(\s|$)/i.test(authorization)) {
    return isTrusted ? { trusted: true, user: null, info: base } : undefined;
  }
  const credentials = parseBasicAuth(authorization);
  if (!credentials || !policy.hasEvent('http_server_validate_auth_basic')) return undefined;
  let result: unknown;
  try {
    result = await policy.call('http_server_validate_auth_basic', [
      credentials.user,
      credentials.password,
    ]);
  } catch (error) {
    log.warn('http_server_validate_auth_basic failed', { error: errorText(error) });
    return undefined;
  }
  if (result !== true && (typeof result !== 'object' || result === null)) return undefined;
  const extra = typeof result === 'object' && result !== null ? (result as Partial<AuthInfo>) : {};
  const info: AuthInfo = {
    peer_address: peerIp,
    identities: [
      { identity: credentials.user, context: 'HttpBasicAuth' },
      ...(Array.isArray(extra.identities) ? extra.identities : []),
    ],
    groups: [
      ...groups,
      ...(Array.isArray(extra.groups)
        ? extra.groups.filter((g): g is string => typeof g === 'string')
        : []),
    ],
  };
  return { trusted: isTrusted, user: credentials.user, info };
}
