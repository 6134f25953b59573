import { connectionMetaArg } from '@sterna/lua';
import type { SMTPServerSession } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import type { PolicyRejection } from '../policy/types.js';
import type { EsmtpListenerParams } from './params.js';
import { connectionMeta, isAuthenticated, recordAuth } from './session-meta.js';
import type { SessionPolicy } from './session-policy.js';

/** One step of an `AUTH` exchange, as the installed handler hands it over. */
export type AuthStep =
  | { readonly stage: 'command'; readonly mechanism: string; readonly secure: boolean }
  | { readonly stage: 'response'; readonly response: string };

/** A reply to send. */
export interface AuthReply {
  readonly code: number;
  readonly text: string;
}

/**
 * Answers a step: for `command`, a refusal or `undefined` to go on and read the credentials;
 * for `response`, the final reply.
 */
export type KumoAuth = (
  session: SMTPServerSession,
  step: AuthStep,
) => Promise<AuthReply | undefined>;

const EVENT = 'smtp_server_auth_plain';

/**
 * KumoMTA's inbound `AUTH PLAIN`: offered only after STARTTLS, and only when the policy handles
 * `smtp_server_auth_plain(authz, authc, password, conn_meta)`. `true` authenticates (`235`) and
 * puts `authz_id` and `authn_id` in the connection's meta; `false` is `535 5.7.8 AUTH invalid`;
 * `kumo.reject` is its reply; any other failure a logged 451. Replies and their order are
 * KumoMTA's; every 4xx/5xx is logged as a `Rejection` with the command `AUTH PLAIN` (the
 * credentials are never logged).
 */
export class SmtpAuth {
  readonly #params: EsmtpListenerParams;
  readonly #policy: SessionPolicy;

  constructor(params: EsmtpListenerParams, policy: SessionPolicy) {
    this.#params = params;
    this.#policy = policy;
  }

  /** The handler to give smtp-server as its `kumoAuth` option. */
  readonly handle: KumoAuth = async (session, step) =>
    step.stage === 'command' ? this.#command(session, step) : this.#response(session, step);

  #command(
    session: SMTPServerSession,
    step: { mechanism: string; secure: boolean },
  ): AuthReply | undefined {
    const { mechanism } = step;
    if (isAuthenticated(session)) {
      return this.#refuse(session, 503, "5.5.1 AUTH me once, can't get authed again!");
    }
    if (session.envelope.mailFrom) {
      return this.#refuse(session, 503, '5.5.1 AUTH not permitted inside a transaction');
    }
    if (mechanism !== 'PLAIN') {
      return this.#refuse(session, 504, `5.5.4 AUTH ${mechanism} not supported`, mechanism);
    }
    if (!step.secure) {
      return this.#refuse(session, 524, `5.7.11 AUTH ${mechanism} requires an encrypted channel`);
    }
    return undefined;
  }

  async #response(session: SMTPServerSession, step: { response: string }): Promise<AuthReply> {
    if (step.response === '*') return this.#refuse(session, 501, '5.5.0 AUTH cancelled by client');
    const decoded = decodePlain(step.response);
    if ('invalid' in decoded) return this.#refuse(session, 501, decoded.invalid);
    const { authc, password } = decoded;
    // PLAIN lets the client leave authz empty; KumoMTA then uses authc for it.
    const authz = decoded.authz === '' ? authc : decoded.authz;
    const meta = connectionMetaArg(connectionMeta(this.#params, session));
    const fired = await this.#policy.fire(
      session,
      EVENT,
      [authz, authc, password, meta],
      'AUTH PLAIN',
    );
    if (fired && 'error' in fired) {
      const { responseCode, message } = fired.error as Error & { responseCode?: number };
      return { code: responseCode ?? 451, text: message };
    }
    if (fired?.result !== true) return this.#refuse(session, 535, '5.7.8 AUTH invalid');
    recordAuth(session, authz, authc);
    // smtp-server's own notion of a signed-in client: it stops listing AUTH after EHLO.
    session.user = authc;
    return { code: 235, text: '2.7.0 AUTH OK!' };
  }

  #refuse(session: SMTPServerSession, code: number, text: string, mechanism = 'PLAIN'): AuthReply {
    const rejection: PolicyRejection = { code, text };
    this.#policy.refuse(session, rejection, `AUTH ${mechanism}`.trim());
    return rejection;
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** RFC 4616's `[authzid] NUL authcid NUL passwd`, with KumoMTA's texts for what is not. */
export function decodePlain(
  response: string,
): { authz: string; authc: string; password: string } | { invalid: string } {
  if (!BASE64.test(response)) return { invalid: '5.5.2 Invalid base64 response' };
  const bytes = Buffer.from(response, 'base64');
  const fields: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0) {
      fields.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  if (fields.length !== 3) return { invalid: '5.5.2 Invalid decoded PLAIN response' };
  try {
    const [authz, authc, password] = fields.map((f) => utf8.decode(f)) as [string, string, string];
    return { authz, authc, password };
  } catch {
    return { invalid: '5.5.2 Invalid UTF8 in decoded PLAIN response' };
  }
}

type Callback = () => void;
interface AuthConnection {
  _server: { options: { kumoAuth?: unknown } };
  session: SMTPServerSession;
  secure: boolean;
  _nextHandler: ((command: Buffer, callback: Callback) => void) | false;
  send(code: number, data?: string, context?: unknown): void;
  [HIDE_AUTH]?: boolean;
}

const INSTALLED = Symbol.for('sterna.smtp-server.kumo-auth');
const HIDE_AUTH = Symbol.for('sterna.smtp-server.kumo-auth.hide');

/**
 * Gives smtp-server a `kumoAuth` option: a server with it runs every `AUTH` command through that
 * handler (KumoMTA's checks, replies and `334` challenge instead of smtp-server's SASL code), and
 * lists `AUTH PLAIN` after EHLO only on a TLS session. Servers without the option are unchanged.
 * Installed once per thread, at run time.
 */
export function installKumoAuth(): void {
  const proto = SMTPConnection.prototype as unknown as Record<PropertyKey, unknown>;
  if (proto[INSTALLED]) return;
  const auth = proto.handler_AUTH as (this: AuthConnection, c: Buffer, cb: Callback) => void;
  const ehlo = proto.handler_EHLO as (this: AuthConnection, c: Buffer, cb: Callback) => void;
  const supported = proto._isSupported as (this: AuthConnection, command: string) => boolean;
  if (typeof auth !== 'function' || typeof ehlo !== 'function' || typeof supported !== 'function') {
    throw new Error('smtp-server changed: cannot install KumoMTA AUTH handling');
  }

  proto.handler_AUTH = function kumoAuth(this: AuthConnection, command: Buffer, done: Callback) {
    const handler = this._server.options.kumoAuth as KumoAuth | undefined;
    if (typeof handler !== 'function') return auth.call(this, command, done);
    const args = command.toString().trim().split(/\s+/).slice(1);
    const mechanism = (args[0] ?? '').toUpperCase();
    const failed = () => this.send(451, '4.3.0 technical difficulties');
    const respond = (response: string, next: Callback) => {
      handler(this.session, { stage: 'response', response }).then(
        (reply) => {
          if (reply) this.send(reply.code, reply.text);
          next();
        },
        () => {
          failed();
          next();
        },
      );
    };
    handler(this.session, { stage: 'command', mechanism, secure: this.secure }).then(
      (refused) => {
        if (refused) {
          this.send(refused.code, refused.text);
          return done();
        }
        if (args[1] !== undefined) return respond(args[1], done);
        this._nextHandler = (line, next) => respond(line.toString().trim(), next);
        this.send(334);
        done();
      },
      () => {
        failed();
        done();
      },
    );
  };

  proto.handler_EHLO = function kumoEhlo(this: AuthConnection, command: Buffer, done: Callback) {
    if (typeof this._server.options.kumoAuth !== 'function' || this.secure) {
      return ehlo.call(this, command, done);
    }
    // The features are listed synchronously; AUTH is left out of them in clear.
    this[HIDE_AUTH] = true;
    try {
      return ehlo.call(this, command, done);
    } finally {
      this[HIDE_AUTH] = false;
    }
  };

  proto._isSupported = function kumoSupported(this: AuthConnection, command: string) {
    if (this[HIDE_AUTH] && command === 'AUTH') return false;
    return supported.call(this, command);
  };
  proto[INSTALLED] = true;
}

declare module 'smtp-server' {
  interface SMTPServerOptions {
    /** KumoMTA's AUTH handling (installKumoAuth). */
    kumoAuth?: KumoAuth | undefined;
  }
}
