import { cidrSet } from '@sterna/core/engine';
import { connectionMetaArg, envelopeAddress } from '@sterna/lua';
import type { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import type { EsmtpListenerParams } from './params.js';
import { authzOf, connectionMeta, senderOf, socketAddress } from './session-meta.js';
import type { SessionPolicy } from './session-policy.js';

/**
 * The checks on `MAIL FROM` and `RCPT TO`: KumoMTA's per-connection and per-message limits,
 * relaying only for `relay_hosts` or as `get_listener_domain` allows it (the sender's domain's
 * `relay_from` holding the client, or the recipient's domain's `relay_to`), and the
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
    const meta = connectionMetaArg(connectionMeta(this.#params, session));
    const fired = await this.#policy.fire(
      session,
      'smtp_server_mail_from',
      [envelopeAddress(address.address), meta],
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
    const meta = connectionMetaArg(connectionMeta(this.#params, session));
    const fired = await this.#policy.fire(
      session,
      'smtp_server_rcpt_to',
      [envelopeAddress(rcpt), meta],
      command,
      rcpt,
    );
    return fired && 'error' in fired ? fired.error : undefined;
  }

  // A client outside relay_hosts may relay when the sender's domain lists it in relay_from
  // (KumoMTA checks this first, so SMTP AUTH via policy-extras' relay_from_authz, which puts the
  // authenticated peer there, takes effect before any relay_to), or to a domain opened with
  // relay_to.
  async #relayRefusal(
    rcpt: string,
    session: SMTPServerSession,
    command: string,
  ): Promise<Error | undefined> {
    const from = await this.#listenerDomain(domainOf(senderOf(session)), session, command, rcpt);
    if ('error' in from) return from.error;
    try {
      if (listed(from.domain?.relay_from, session.remoteAddress)) return undefined;
      if (authorized(from.domain?.relay_from_authz, authzOf(session))) return undefined;
    } catch (error) {
      // A relay_from entry that is not an address or CIDR block: the policy's mistake.
      const rejection = this.#policy.rejectionFor('get_listener_domain', error);
      return this.#policy.refuse(session, rejection, command, rcpt);
    }
    const to = await this.#listenerDomain(domainOf(rcpt), session, command, rcpt);
    if ('error' in to) return to.error;
    if (to.domain?.relay_to === true) return undefined;
    const peer = socketAddress(session.remoteAddress, session.remotePort);
    return this.#policy.refuse(
      session,
      { code: 550, text: `5.7.1 relaying not permitted for ${peer}` },
      command,
      rcpt,
    );
  }

  // get_listener_domain(domain, listener, conn_meta), fired afresh each time: what it answers may
  // depend on the connection's meta (authz_id after AUTH).
  async #listenerDomain(
    domain: string,
    session: SMTPServerSession,
    command: string,
    rcpt: string,
  ): Promise<{ domain?: ListenerDomainAnswer | undefined } | { error: Error }> {
    const meta = connectionMetaArg(connectionMeta(this.#params, session));
    const fired = await this.#policy.fire(
      session,
      'get_listener_domain',
      [domain, this.#params.listen, meta],
      command,
      rcpt,
    );
    if (fired && 'error' in fired) return { error: fired.error };
    const result = fired?.result;
    return { domain: typeof result === 'object' && result !== null ? result : undefined };
  }
}

/**
 * True when the session authenticated as one of `relay_from_authz`. In KumoMTA that key belongs
 * to policy-extras' listener_domains (which turns it into a relay_from of the peer); Sterna's
 * `make_listener_domain` accepts it too, so it is honoured here rather than ignored.
 */
function authorized(list: unknown, authz: string | undefined): boolean {
  return authz !== undefined && Array.isArray(list) && list.map(String).includes(authz);
}

/** True when `ip` is in the `relay_from` list (addresses and CIDR blocks); throws on a bad entry. */
function listed(list: unknown, ip: string): boolean {
  if (!Array.isArray(list) || list.length === 0) return false;
  return cidrSet(list.map(String), 'relay_from')(ip);
}

/** What get_listener_domain's answer holds that relaying reads. */
interface ListenerDomainAnswer {
  readonly relay_to?: unknown;
  readonly relay_from?: unknown;
  readonly relay_from_authz?: unknown;
}

/** The domain of an address (`''` for the null sender), lower-cased. */
function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase();
}
