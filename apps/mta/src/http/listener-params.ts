import { errorText } from '@sterna/core';
import { cidrSet } from '@sterna/core/engine';
import { parseListen } from '../smtp/params.js';
import { httpError } from './errors.js';
import type { HttpListenerParams } from './params.js';

/** A certificate and its key, PEM text. */
export interface TlsPair {
  readonly key: string;
  readonly cert: string;
}

/** The parts of `kumo.start_http_listener{…}` that must be checked before anything starts. */
export interface ResolvedHttpParams {
  readonly host: string;
  readonly port: number;
  /** Whether a peer address is in `trusted_hosts`. */
  readonly trusted: (ip: string) => boolean;
  /** The certificate to serve with `use_tls`, else null (plain HTTP). */
  readonly https: TlsPair | null;
}

/**
 * Reads `listen`, `trusted_hosts` and the TLS material (the params' own, else `fallback`, the
 * daemon's self-signed pair).
 *
 * @throws SternaError `STERNA_HTTP_PARAMS` for a bad `listen` or `trusted_hosts`, or `use_tls`
 *   with no certificate and key.
 */
export function resolveHttpParams(
  params: HttpListenerParams,
  fallback: TlsPair | undefined,
): ResolvedHttpParams {
  let host: string;
  let port: number;
  let trusted: (ip: string) => boolean;
  try {
    ({ host, port } = parseListen(params.listen));
    trusted = cidrSet(params.trusted_hosts, 'trusted_hosts');
  } catch (error) {
    throw httpError('STERNA_HTTP_PARAMS', `kumo.start_http_listener: ${errorText(error)}`, error);
  }
  if (!params.use_tls) return { host, port, trusted, https: null };
  const key = params.tls_private_key ?? fallback?.key;
  const cert = params.tls_certificate ?? fallback?.cert;
  if (!key || !cert)
    throw httpError(
      'STERNA_HTTP_PARAMS',
      'kumo.start_http_listener: use_tls needs tls_certificate and tls_private_key',
    );
  return { host, port, trusted, https: { key, cert } };
}
