import type { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import type { EsmtpListenerParams } from './params.js';
import { connectionMeta } from './session-meta.js';
import type { SessionPolicy } from './session-policy.js';

/**
 * The checks on `MAIL FROM` and `RCPT TO`: KumoMTA's per-connection and per-message limits,
 * relaying only for `relay_hosts` or domains `get_listener_domain` opens, and the
 * `smtp_server_mail_from` / `smtp_server_rcpt_to` events. Each answers the error smtp-server
 * replies with, or `undefined` to accept.
 */
export class EnvelopeChecks {
  readonly #params: EsmtpListenerParams;
  readonly #policy: SessionPolicy;
  readonly #relay: (ip: string) => boolean;

  constructor(params: EsmtpListenerParams, policy: SessionPolicy, relay: (ip: string) => boolean) {
    this.#params = params;
    this.#policy = policy;
    this.#relay = relay;
  }

  /** `MAIL FROM`; `accepted` is how many messages this connection has already had accepted. */
  async mailFrom(
    address: SMTPServerAddress,
    session: SMTPServerSession,
    accepted: number,
  ): Promise<Error | undefined> {
    const command = `MAIL FROM:<${address.address}>`;
    if (accepted >= this.#params.max_messages_per_connection) {
      return this.#policy.refuse(
        session,
        { code: 421, text: '4.7.0 too many messages on this connection' },
        command,
      );
    }
    const meta = connectionMeta(this.#params, session);
    const fired = await this.#policy.fire(
      session,
      'smtp_server_mail_from',
      [address.address, meta],
      command,
    );
    return fired && 'error' in fired ? fired.error : undefined;
  }

  /** `RCPT TO`. */
  async rcptTo(address: SMTPServerAddress, session: SMTPServerSession): Promise<Error | undefined> {
    const rcpt = address.address;
    const command = `RCPT TO:<${rcpt}>`;
    if (session.envelope.rcptTo.length >= this.#params.max_recipients_per_message) {
      return this.#policy.refuse(
        session,
        { code: 452, text: '4.5.3 too many recipients' },
        command,
        rcpt,
      );
    }
    if (!this.#relay(session.remoteAddress)) {
      const refused = await this.#relayRefusal(rcpt, session, command);
      if (refused) return refused;
    }
    const meta = connectionMeta(this.#params, session);
    const fired = await this.#policy.fire(
      session,
      'smtp_server_rcpt_to',
      [rcpt, meta],
      command,
      rcpt,
    );
    return fired && 'error' in fired ? fired.error : undefined;
  }

  // A client outside relay_hosts may only send to domains the policy opens with relay_to.
  async #relayRefusal(
    rcpt: string,
    session: SMTPServerSession,
    command: string,
  ): Promise<Error | undefined> {
    const domain = rcpt.slice(rcpt.lastIndexOf('@') + 1).toLowerCase();
    const fired = await this.#policy.fire(
      session,
      'get_listener_domain',
      [domain, this.#params.listen, connectionMeta(this.#params, session)],
      command,
      rcpt,
    );
    if (fired && 'error' in fired) return fired.error;
    const relayTo = (fired?.result as { relay_to?: unknown } | null | undefined)?.relay_to === true;
    if (relayTo) return undefined;
    const peer = `${session.remoteAddress}:${session.remotePort}`;
    return this.#policy.refuse(
      session,
      { code: 550, text: `5.7.1 relaying not permitted for ${peer}` },
      command,
      rcpt,
    );
  }
}
