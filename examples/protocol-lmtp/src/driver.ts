import { defineProtocolDriver, makeResponse } from '@sterna/core';
import { LmtpConnection } from './connection.js';
import { LmtpSession, SessionRefused } from './lmtp-session.js';
import { endpointName, endpointOf, type LmtpOptions, lmtpOptionsSchema } from './options.js';
import { replyText } from './reply-reader.js';

/**
 * Delivers over LMTP (RFC 2033) to a local delivery agent such as Dovecot's `lmtp`:
 * `protocol = { lmtp = { host = '127.0.0.1', port = 24 } }` or
 * `protocol = { lmtp = { path = '/run/dovecot/lmtp' } }`. Each recipient gets the server's own
 * reply after DATA, so one full mailbox does not fail the others.
 */
export const lmtpDriver = defineProtocolDriver<LmtpOptions>({
  protocol: 'lmtp',
  deliveryProtocol: 'LMTP',
  packageName: 'sterna-protocol-lmtp',
  options: lmtpOptionsSchema,
  capabilities: {
    reusesConnections: true,
    multiRecipient: true,
    batching: false,
    readyQueue: true,
  },
  site(options) {
    // One ready queue per server, whatever the domain: the server decides per mailbox.
    return { site: { name: endpointName(endpointOf(options)), service: 'lmtp' } };
  },
  // `source` is the ready queue's egress source (the `unspecified` one, which sets nothing, when
  // the queue names no egress pool): its address is bound and its EHLO name used after the path's.
  async connect(site, options, ctx, path, source) {
    try {
      const session = await LmtpSession.open({
        endpoint: endpointOf(options),
        lhloName: options.lmtp.lhlo_name ?? path.ehlo_domain ?? source?.ehlo_domain ?? ctx.hostname,
        connectTimeout: path.connect_timeout,
        bannerTimeout: path.banner_timeout,
        lhloTimeout: path.ehlo_timeout,
        localAddress: source?.source_address,
      });
      return new LmtpConnection(
        session,
        {
          mailFrom: path.mail_from_timeout,
          rcptTo: path.rcpt_to_timeout,
          data: path.data_timeout,
          dataDot: path.data_dot_timeout,
          rset: path.rset_timeout,
        },
        site.name,
      );
    } catch (error) {
      const peer = { name: site.name, addr: site.name };
      if (error instanceof SessionRefused && error.reply) {
        const reply = error.reply;
        // A server that refuses the session has said nothing about any mailbox: retry later.
        const code = reply.code >= 400 && reply.code < 600 ? reply.code : 421;
        return {
          kind: 'transient',
          response: makeResponse(code, replyText(reply).replace(/^\d{3}[ -]?/gm, ''), {
            command: error.command,
          }),
          peer,
        };
      }
      return {
        kind: 'transient',
        response: makeResponse(
          400,
          `KumoMTA internal: failed to connect to ${site.name}: ${(error as Error).message}`,
          { enhanced: null },
        ),
        peer,
      };
    }
  },
});
