/** How an SMTP session uses TLS (`enable_tls`). */
export type TlsMode =
  | 'Opportunistic'
  | 'OpportunisticInsecure'
  | 'Required'
  | 'RequiredInsecure'
  | 'Disabled';

/** Which address families a host name is resolved to (`ip_lookup_strategy`). */
export type IpLookupStrategy =
  | 'Ipv4AndIpv6'
  | 'Ipv4Only'
  | 'Ipv6Only'
  | 'Ipv6ThenIpv4'
  | 'Ipv4ThenIpv6';

/** What to do after a 421, a timeout or an I/O error mid-session (`reconnect_strategy`). */
export type ReconnectStrategy = 'ConnectNextHost' | 'TerminateSession' | 'ReconnectSameHost';

/**
 * The egress path of a ready queue: what `get_egress_path_config` returned through
 * `kumo.make_egress_path{…}`, validated, with durations in seconds. Keys are KumoMTA's. The
 * egress source (address to bind, its EHLO name, a port override) comes to `connect` beside it
 * as an `EgressSource`.
 *
 * The engine reads the queueing fields (`connection_limit`, `max_deliveries_per_connection`,
 * `idle_timeout`, …); drivers read the rest, each what applies to it.
 */
export interface EgressPathConfig {
  /** @default 32 */
  readonly connection_limit: number;
  /**
   * `connection_limit = 'local:N'`: the limit is this node's own even when limits are shared
   * through redis (`kumo.configure_redis_throttles`), where it is otherwise fleet-wide.
   */
  readonly connection_limit_local?: boolean | undefined;
  /** @default 1024 */
  readonly max_deliveries_per_connection: number;
  /** @default 100 */
  readonly max_recipients_per_batch: number;
  /** @default 1024 */
  readonly max_ready: number;
  /**
   * A throttle (`'100/s'`, `'1,000/h,max_burst=10'`) on messages sent from this source to this
   * site; none by default.
   */
  readonly max_message_rate?: string | undefined;
  /** A throttle on new connections from this source to this site; none by default. */
  readonly max_connection_rate?: string | undefined;
  /** Named connection limits, each shared by every ready queue that names it. */
  readonly additional_connection_limits?: Readonly<Record<string, number>> | undefined;
  /**
   * The names in `additional_connection_limits` written `'local:N'`: this node's own limits
   * even when limits are shared through redis.
   */
  readonly local_connection_limits?: readonly string[] | undefined;
  /** Named message-rate throttles, each shared by every ready queue that names it. */
  readonly additional_message_rate_throttles?: Readonly<Record<string, string>> | undefined;
  /** A throttle on how often this source may be picked for this site (IP warm-up). */
  readonly source_selection_rate?: string | undefined;
  /** Named selection throttles, each shared by every path that names it. */
  readonly additional_source_selection_rates?: Readonly<Record<string, string>> | undefined;
  /** Seconds before the policy is asked for this path again. @default 60 */
  readonly refresh_interval?: number | undefined;
  /** @default 'Opportunistic' */
  readonly enable_tls: TlsMode;
  /** @default true */
  readonly enable_pipelining: boolean;
  /** @default true */
  readonly enable_rset: boolean;
  /** @default 25 */
  readonly smtp_port: number;
  /** The EHLO name; when absent the egress source's `ehlo_domain`, then the host name. */
  readonly ehlo_domain?: string | undefined;
  /** CIDRs never connected to; a match bounces (550 5.4.4). @default loopback and unspecified addresses */
  readonly prohibited_hosts: readonly string[];
  /** CIDRs silently dropped from the connection plan. @default [] */
  readonly skip_hosts: readonly string[];
  /** @default 'Ipv4AndIpv6' */
  readonly ip_lookup_strategy: IpLookupStrategy;
  /** @default 'ConnectNextHost' */
  readonly reconnect_strategy: ReconnectStrategy;
  /** @default false */
  readonly try_next_host_on_transport_error: boolean;
  /** @default false */
  readonly opportunistic_tls_reconnect_on_failed_handshake: boolean;
  /** Speak LMTP (LHLO) instead of ESMTP. @default false */
  readonly use_lmtp: boolean;
  readonly smtp_auth_plain_username?: string | undefined;
  readonly smtp_auth_plain_password?: string | undefined;
  /** @default false */
  readonly allow_smtp_auth_plain_without_tls: boolean;
  /** Client certificate and key, PEM. */
  readonly tls_certificate?: string | undefined;
  readonly tls_private_key?: string | undefined;
  readonly provider_name?: string | undefined;
  /** Seconds. @default 60 */
  readonly connect_timeout: number;
  /** Seconds. @default 60 */
  readonly banner_timeout: number;
  /** Seconds. @default 300 */
  readonly ehlo_timeout: number;
  /** Seconds. @default 300 */
  readonly mail_from_timeout: number;
  /** Seconds. @default 300 */
  readonly rcpt_to_timeout: number;
  /** Seconds. @default 300 */
  readonly data_timeout: number;
  /** Seconds. @default 300 */
  readonly data_dot_timeout: number;
  /** Seconds. @default 5 */
  readonly rset_timeout: number;
  /** Seconds without work before a connection is closed. @default 5 */
  readonly idle_timeout: number;
  /** Seconds. @default 5 */
  readonly starttls_timeout: number;
  /** Seconds. @default 60 */
  readonly auth_timeout: number;
}

/** KumoMTA's code defaults for an egress path (where its docs differ, the code wins). */
export const DEFAULT_EGRESS_PATH: EgressPathConfig = Object.freeze({
  connection_limit: 32,
  max_deliveries_per_connection: 1024,
  max_recipients_per_batch: 100,
  max_ready: 1024,
  enable_tls: 'Opportunistic',
  enable_pipelining: true,
  enable_rset: true,
  smtp_port: 25,
  prohibited_hosts: Object.freeze(['127.0.0.0/8', '::1', '0.0.0.0', '::']),
  skip_hosts: Object.freeze([]),
  ip_lookup_strategy: 'Ipv4AndIpv6',
  reconnect_strategy: 'ConnectNextHost',
  try_next_host_on_transport_error: false,
  opportunistic_tls_reconnect_on_failed_handshake: false,
  use_lmtp: false,
  allow_smtp_auth_plain_without_tls: false,
  connect_timeout: 60,
  banner_timeout: 60,
  ehlo_timeout: 300,
  mail_from_timeout: 300,
  rcpt_to_timeout: 300,
  data_timeout: 300,
  data_dot_timeout: 300,
  rset_timeout: 5,
  idle_timeout: 5,
  starttls_timeout: 5,
  auth_timeout: 60,
} satisfies EgressPathConfig);

/** The defaults with some fields replaced. */
export function egressPath(overrides: Partial<EgressPathConfig> = {}): EgressPathConfig {
  return Object.freeze({ ...DEFAULT_EGRESS_PATH, ...overrides });
}
