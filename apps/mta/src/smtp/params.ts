import type { AddressInfo } from 'node:net';
import type { TraceHeaders } from '../reception/trace-headers.js';

/** `kumo.start_esmtp_listener{…}` after validation (KumoMTA's names; durations in seconds). */
export interface EsmtpListenerParams {
  /** @default '127.0.0.1:2025' */
  readonly listen: string;
  readonly hostname: string;
  /** @default ['127.0.0.1', '::1'] */
  readonly relay_hosts: readonly string[];
  /** @default 'KumoMTA' */
  readonly banner: string;
  /** @default 20 MiB */
  readonly max_message_size: number;
  /** @default 1024 */
  readonly max_recipients_per_message: number;
  /** @default 10000 */
  readonly max_messages_per_connection: number;
  /** @default 32768 */
  readonly max_connections: number;
  /** @default 60 */
  readonly client_timeout: number;
  /** @default 998 */
  readonly line_length_hard_limit: number;
  /** @default 'Deny' */
  readonly invalid_line_endings: 'Deny' | 'Allow' | 'Fix';
  readonly trace_headers: TraceHeaders;
  /** PEM text of the certificate and key; a self-signed pair is made when absent. */
  readonly tls_certificate?: string | undefined;
  readonly tls_private_key?: string | undefined;
  /** Meta copied into every message received here. */
  readonly meta: Readonly<Record<string, unknown>>;
  /**
   * Keep received messages in memory until their first transient failure instead of spooling
   * them before the `250` (KumoMTA's option; a crash loses them). @default false
   */
  readonly deferred_spool?: boolean;
}

/** Splits `host:port` / `[v6]:port`. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(listen) ?? /^([^:]+):(\d+)$/.exec(listen);
  if (!m) throw new Error(`listen: '${listen}' is not host:port`);
  return { host: m[1]!, port: Number(m[2]) };
}

/** A bound socket's address as listeners announce it: `host:port`, `[v6]:port`. */
export function formatBound(bound: AddressInfo): string {
  return bound.family === 'IPv6'
    ? `[${bound.address}]:${bound.port}`
    : `${bound.address}:${bound.port}`;
}
