/** The name KumoMTA gives the default egress source and the default egress pool. */
export const UNSPECIFIED_EGRESS = 'unspecified';

/**
 * Where a ready queue's traffic leaves from: the egress source the engine picked from the
 * queue's egress pool, as the policy's `get_egress_source` described it with
 * `kumo.make_egress_source{…}` (keys as KumoMTA spells them). Every ready queue has one; with no
 * pool configured it is {@link UNSPECIFIED_EGRESS_SOURCE}, which sets nothing.
 *
 * Drivers that open network connections read it in `connect`: bind `source_address`, say
 * `ehlo_domain` (after the egress path's own `ehlo_domain`), connect to `remote_port`. A driver
 * that cannot honour a field the source sets (a proxy, say) should fail the connection with a
 * transient failure naming the source rather than connect some other way.
 */
export interface EgressSource {
  /** The source's name, logged as `egress_source` and the first part of the ready queue name. */
  readonly name: string;
  /** Local IP address outbound connections bind to; the kernel chooses when absent. */
  readonly source_address?: string | undefined;
  /** EHLO name, used when the egress path sets none; the host name when absent. */
  readonly ehlo_domain?: string | undefined;
  /** Port to connect to, overriding the egress path's `smtp_port` and any `mx_list` port. */
  readonly remote_port?: number | undefined;
  /** HAProxy server (`ip:port`) to send through; Sterna's drivers do not support it yet. */
  readonly ha_proxy_server?: string | undefined;
  readonly ha_proxy_source_address?: string | undefined;
  /** SOCKS5 server (`ip:port`) to send through; Sterna's drivers do not support it yet. */
  readonly socks5_proxy_server?: string | undefined;
  readonly socks5_proxy_source_address?: string | undefined;
}

/** The source of a queue with no egress pool: KumoMTA's `unspecified`, with nothing set. */
export const UNSPECIFIED_EGRESS_SOURCE: EgressSource = Object.freeze({ name: UNSPECIFIED_EGRESS });

/** The proxy a source sends through, if it names one (`protocol` as log records spell it). */
export function egressProxyOf(
  source: EgressSource,
): { readonly protocol: 'haproxy' | 'socks5'; readonly server: string } | undefined {
  if (source.socks5_proxy_server) {
    return { protocol: 'socks5', server: source.socks5_proxy_server };
  }
  if (source.ha_proxy_server) return { protocol: 'haproxy', server: source.ha_proxy_server };
  return undefined;
}
