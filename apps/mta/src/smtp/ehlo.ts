import type { SMTPServerSession } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

/** A `HELO` or `EHLO` smtp-server has accepted, before its reply is sent. */
export interface EhloStep {
  readonly verb: 'EHLO' | 'HELO';
  /** The domain as the client wrote it. */
  readonly domain: string;
  /** The extensions the `250` reply lists (`['PIPELINING', 'SIZE 20971520', …]`); none for HELO. */
  readonly extensions: readonly string[];
}

/** What to do with the reply: refuse it, or list other extensions (EHLO only). */
export type EhloAnswer =
  | { readonly reject: { readonly code: number; readonly text: string } }
  | { readonly extensions?: readonly string[] | undefined };

export type KumoEhlo = (session: SMTPServerSession, step: EhloStep) => Promise<EhloAnswer>;

type Callback = () => void;
type Send = (code: number, data?: string | string[], context?: unknown) => void;
interface HelloConnection {
  _server: { options: { kumoEhlo?: unknown } };
  session: SMTPServerSession;
  hostNameAppearsAs?: string | undefined;
  send: Send;
}
type Handler = (this: HelloConnection, command: Buffer, done: Callback) => void;

const INSTALLED = Symbol.for('sterna.smtp-server.kumo-ehlo');

/**
 * Gives smtp-server a `kumoEhlo` option, for KumoMTA's `smtp_server_ehlo` event: a server with
 * it runs smtp-server's own `EHLO` / `HELO` handling (syntax checks, the session reset, the
 * extension list) with the `250` reply held back, asks the hook, and then sends that reply, the
 * reply with the hook's extension list, or the hook's refusal (the session keeps the name it
 * had before). Replacing the list changes what is advertised, not which commands work.
 * Servers without the option are unchanged. Installed once per thread, at run time.
 */
export function installKumoEhlo(): void {
  const proto = SMTPConnection.prototype as unknown as Record<PropertyKey, unknown>;
  if (proto[INSTALLED]) return;
  for (const verb of ['EHLO', 'HELO'] as const) {
    const original = proto[`handler_${verb}`] as Handler;
    if (typeof original !== 'function') {
      throw new Error(`smtp-server changed: cannot install KumoMTA ${verb} handling`);
    }
    proto[`handler_${verb}`] = function kumoHello(
      this: HelloConnection,
      command: Buffer,
      done: Callback,
    ) {
      const hook = this._server.options.kumoEhlo as KumoEhlo | undefined;
      if (typeof hook !== 'function') return original.call(this, command, done);
      const before = this.hostNameAppearsAs;
      const held: Parameters<Send>[] = [];
      let sync = true;
      let finished = false;
      const send = this.send;
      const own = Object.hasOwn(this, 'send');
      this.send = (...reply) => void held.push(reply);
      try {
        original.call(this, command, () => {
          if (sync) finished = true;
          else done();
        });
      } finally {
        sync = false;
        if (own) this.send = send;
        else delete (this as Partial<HelloConnection>).send;
      }
      const reply = held[0];
      if (!finished || held.length !== 1 || reply?.[0] !== 250) {
        // A syntax error (501), or a handler that goes on later: as smtp-server sends it.
        for (const r of held) send.apply(this, r);
        if (finished) done();
        return;
      }
      const lines = Array.isArray(reply[1]) ? reply[1] : [reply[1] ?? ''];
      const [first = '', ...extensions] = lines;
      const domain = command.toString().trim().split(/\s+/)[1] ?? '';
      hook(this.session, { verb, domain, extensions }).then(
        (answer) => {
          if ('reject' in answer) {
            this.hostNameAppearsAs = before;
            this.session.hostNameAppearsAs = before as string;
            send.call(this, answer.reject.code, answer.reject.text, false);
          } else if (verb === 'EHLO' && answer.extensions) {
            send.call(this, 250, [first, ...answer.extensions], false);
          } else {
            send.apply(this, reply);
          }
          done();
        },
        () => {
          send.call(this, 451, '4.3.0 technical difficulties', false);
          done();
        },
      );
    };
  }
  proto[INSTALLED] = true;
}

declare module 'smtp-server' {
  interface SMTPServerOptions {
    /** KumoMTA's smtp_server_ehlo (installKumoEhlo). */
    kumoEhlo?: KumoEhlo | undefined;
  }
}
