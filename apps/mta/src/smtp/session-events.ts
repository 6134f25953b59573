import { connectionMetaArg } from '@sterna/lua';
import type { SMTPServerSession } from 'smtp-server';
import type { EhloAnswer, KumoEhlo } from './ehlo.js';
import type { EsmtpListenerParams } from './params.js';
import { connectionMeta } from './session-meta.js';
import type { SessionPolicy } from './session-policy.js';

/**
 * The connection-level events of KumoMTA's ESMTP listener: `smtp_server_connection_accepted`
 * before the banner and `smtp_server_ehlo` at `HELO` / `EHLO`. What their handlers set with
 * `conn_meta:set_meta` lasts for the connection (`SessionPolicy.fire`).
 */
export class SessionEvents {
  readonly #params: EsmtpListenerParams;
  readonly #policy: SessionPolicy;

  constructor(params: EsmtpListenerParams, policy: SessionPolicy) {
    this.#params = params;
    this.#policy = policy;
  }

  /**
   * `smtp_server_connection_accepted(conn_meta)`, before the banner: a `kumo.reject` (or an
   * error, as a 451) is the reply, and the connection is closed after it.
   */
  async connectionAccepted(session: SMTPServerSession): Promise<Error | undefined> {
    const meta = connectionMetaArg(connectionMeta(this.#params, session));
    const fired = await this.#policy.fire(session, 'smtp_server_connection_accepted', [meta], null);
    return fired && 'error' in fired ? fired.error : undefined;
  }

  /**
   * `smtp_server_ehlo(domain, conn_meta, extensions)`: a `kumo.reject` is the reply to the
   * command; a returned list replaces the extensions the EHLO reply lists (a HELO reply lists
   * none, so there it is ignored).
   */
  readonly ehlo: KumoEhlo = async (session, step): Promise<EhloAnswer> => {
    const meta = connectionMetaArg(connectionMeta(this.#params, session));
    const fired = await this.#policy.fire(
      session,
      'smtp_server_ehlo',
      [step.domain, meta, [...step.extensions]],
      `${step.verb} ${step.domain}`,
    );
    if (!fired) return {};
    if ('error' in fired) {
      const { responseCode, message } = fired.error as Error & { responseCode?: number };
      return { reject: { code: responseCode ?? 451, text: message } };
    }
    return { extensions: extensionList(fired.result) };
  };
}

// A list the handler returned (a Lua sequence of strings), or undefined to keep smtp-server's.
function extensionList(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.map((one) => String(one).replace(/[\r\n]/g, ' '));
}
