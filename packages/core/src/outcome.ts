import { classifyResponse, type Disposition, type Response } from './response.js';

/** Where a delivery went, as logged in `peer_address`. */
export interface PeerAddress {
  /** The host name (MX or `mx_list` entry), or a label such as `Lua via make.webhook`. */
  readonly name: string;
  /** The address connected to (`ip` or `ip:port`). */
  readonly addr: string;
}

/** TLS facts of an outbound session, logged as `tls_cipher` etc. when present. */
export interface TlsInfo {
  readonly cipher?: string | undefined;
  readonly protocolVersion?: string | undefined;
  readonly peerSubjectName?: readonly string[] | undefined;
}

/**
 * The local end of an outbound connection, as logged in `source_address`: `address` is the
 * bound `ip:port`; `protocol` and `server` name the proxy when one carried the connection.
 */
export interface SourceAddress {
  readonly address: string;
  readonly server?: string;
  readonly protocol?: 'haproxy' | 'socks5';
}

/** The result of one delivery attempt for one recipient. Expected failures are data. */
export interface Outcome {
  readonly recipient: string;
  readonly kind: Disposition;
  readonly response: Response;
  /**
   * Seconds until the next attempt, overriding the queue's retry schedule for a transient
   * failure (maildir retries a failed write about 60 s later). The attempt counter still rises.
   */
  readonly retryAfter?: number | undefined;
  readonly peer?: PeerAddress | null | undefined;
  readonly tls?: TlsInfo | undefined;
  /** The local address the connection was made from (SMTP), logged as `source_address`. */
  readonly source_address?: SourceAddress | undefined;
}

/** A failure that ends an attempt before any message was sent (site resolution, connect). */
export interface DeliveryFailure {
  readonly kind: 'transient' | 'permanent';
  readonly response: Response;
  readonly retryAfter?: number | undefined;
  readonly peer?: PeerAddress | null | undefined;
}

/** Extra fields an outcome may carry. */
export type OutcomeExtras = Pick<Outcome, 'retryAfter' | 'peer' | 'tls' | 'source_address'>;

/** An outcome whose kind follows the response code (see {@link classifyResponse}). */
export function outcomeFor(
  recipient: string,
  response: Response,
  extras: OutcomeExtras = {},
): Outcome {
  return { recipient, kind: classifyResponse(response), response, ...extras };
}

/** The same failure applied to every recipient of a message. */
export function failAll(recipients: readonly string[], failure: DeliveryFailure): Outcome[] {
  return recipients.map((recipient) => ({
    recipient,
    kind: failure.kind,
    response: failure.response,
    retryAfter: failure.retryAfter,
    peer: failure.peer,
  }));
}

/** True for a {@link DeliveryFailure} (as opposed to a connection or a site). */
export function isDeliveryFailure(value: unknown): value is DeliveryFailure {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<DeliveryFailure>;
  return (v.kind === 'transient' || v.kind === 'permanent') && typeof v.response === 'object';
}
