import {
  type DeliveryFailure,
  defineProtocolDriver,
  egressProxyOf,
  internalFailure,
  isDeliveryFailure,
  type ProtocolDriver,
  UNSPECIFIED_EGRESS_SOURCE,
} from '@sterna/core';
import { planCandidates } from './candidates.js';
import { HandshakeError, handshake } from './handshake.js';
import { formatAddr } from './host-spec.js';
import { type SmtpOptions, smtpOptionsSchema } from './options.js';
import { planOf } from './plan.js';
import { resolveSite } from './site.js';
import { SmtpConnection } from './smtp-connection.js';

/**
 * Delivers by SMTP (or LMTP with the egress path's `use_lmtp`): to the routing domain's MX, or
 * to an explicit `mx_list`, with KumoMTA's TLS modes, host filters, timeouts and texts.
 * The default protocol of every queue: `protocol = { smtp = {} }`.
 */
export const smtpDriver: ProtocolDriver<SmtpOptions> = defineProtocolDriver<SmtpOptions>({
  protocol: 'smtp',
  deliveryProtocol: 'ESMTP',
  packageName: '@sterna/protocol-smtp',
  options: smtpOptionsSchema,
  capabilities: {
    reusesConnections: true,
    multiRecipient: true,
    batching: false,
    readyQueue: true,
  },
  site: resolveSite,
  async connect(
    site,
    _options,
    ctx,
    path,
    source = UNSPECIFIED_EGRESS_SOURCE,
  ): Promise<SmtpConnection | DeliveryFailure> {
    const proxy = egressProxyOf(source);
    if (proxy) {
      // Connecting directly instead would send from an address the operator did not choose.
      return internalFailure(
        `failed to connect to any candidate hosts: egress source '${source.name}' sends through a ${proxy.protocol} proxy (${proxy.server}), which Sterna's smtp driver does not support yet`,
      );
    }
    const plan = planOf(site);
    const list = await planCandidates(plan, path, ctx, source.remote_port);
    if (isDeliveryFailure(list)) return list;
    const errors = [...list.errors];
    // KumoMTA's order: the egress path's EHLO name, then the source's, then the host name.
    const ehloName = path.ehlo_domain ?? source.ehlo_domain ?? ctx.hostname;
    const trace = ctx.tracer?.begin({ site: site.name });
    trace?.emit('BeginSession');
    const settings = { path, source, ehloName, signal: ctx.signal, trace };
    const queue = [...list.candidates];
    while (queue.length > 0 && !ctx.signal.aborted) {
      const candidate = queue.shift()!;
      try {
        const open = await handshake(candidate, settings);
        return new SmtpConnection(open, queue, site.name, path, ctx, settings);
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        // A local address that cannot be bound fails every host alike: say so, once.
        if (error instanceof HandshakeError && error.bindFailed) {
          return internalFailure(`failed to connect to any candidate hosts: ${why}`);
        }
        errors.push(`${candidate.name} ${formatAddr(candidate.address, candidate.port)}: ${why}`);
        ctx.logger.debug('smtp candidate failed', { site: site.name, reason: why });
      }
    }
    if (ctx.signal.aborted) errors.push('aborted');
    return internalFailure(`failed to connect to any candidate hosts: ${errors.join(', ')}`);
  },
});
