import {
  type DeliveryFailure,
  defineProtocolDriver,
  internalFailure,
  isDeliveryFailure,
  type ProtocolDriver,
} from '@sterna/core';
import { planCandidates } from './candidates.js';
import { handshake } from './handshake.js';
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
  async connect(site, _options, ctx, path): Promise<SmtpConnection | DeliveryFailure> {
    const plan = planOf(site);
    const list = await planCandidates(plan, path, ctx);
    if (isDeliveryFailure(list)) return list;
    const errors = [...list.errors];
    const settings = { path, ehloName: path.ehlo_domain ?? ctx.hostname, signal: ctx.signal };
    const queue = [...list.candidates];
    while (queue.length > 0 && !ctx.signal.aborted) {
      const candidate = queue.shift()!;
      try {
        const open = await handshake(candidate, settings);
        return new SmtpConnection(open, queue, site.name, path, ctx, settings);
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        errors.push(`${candidate.name} ${formatAddr(candidate.address, candidate.port)}: ${why}`);
        ctx.logger.debug('smtp candidate failed', { site: site.name, reason: why });
      }
    }
    if (ctx.signal.aborted) errors.push('aborted');
    return internalFailure(`failed to connect to any candidate hosts: ${errors.join(', ')}`);
  },
});
