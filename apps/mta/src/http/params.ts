/** `kumo.start_http_listener{…}` after validation (KumoMTA's names). */
export interface HttpListenerParams {
  /** `host:port` or `[v6]:port` to bind. @default '127.0.0.1:8000' */
  readonly listen: string;
  /** The name the listener puts in message meta (`hostname`) and generated `Message-ID`s. */
  readonly hostname: string;
  /**
   * Addresses and CIDR blocks that may inject, scrape `/metrics` and use the admin API without
   * credentials; other peers may only inject, after HTTP Basic auth.
   * @default ['127.0.0.1', '::1']
   */
  readonly trusted_hosts: readonly string[];
  /** Serve HTTPS instead of HTTP. @default false */
  readonly use_tls: boolean;
  /** PEM text of the certificate for `use_tls`; a self-signed pair is made when absent. */
  readonly tls_certificate?: string | undefined;
  /** PEM text of the private key for `use_tls`. */
  readonly tls_private_key?: string | undefined;
  /** Largest request body in bytes, measured after gzip decompression. @default 2 MiB */
  readonly request_body_limit: number;
}

/** The defaults of every optional field of {@link HttpListenerParams}. */
export const HTTP_LISTENER_DEFAULTS = {
  listen: '127.0.0.1:8000',
  trusted_hosts: ['127.0.0.1', '::1'],
  use_tls: false,
  request_body_limit: 2 * 1024 * 1024,
} as const satisfies Partial<HttpListenerParams>;
