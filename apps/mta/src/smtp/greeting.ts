import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

/**
 * smtp-server (3.21) waits a fixed 100 ms before every greeting to catch clients that talk before
 * it (early talkers), which caps one-message-per-connection traffic near 200 msg/s at 20 clients.
 * `installGreetingDelay()` gives its servers an `earlyTalkerDelay` option (milliseconds; `0`
 * greets at once): a connection of a server with that option set runs the same start-up steps
 * with that wait instead. Servers without the option keep smtp-server's own behaviour.
 * Installed once per thread; done at run time, so it holds however the package was installed.
 */
export function installGreetingDelay(): void {
  const proto = SMTPConnection.prototype as SMTPConnection & { [INSTALLED]?: true };
  if (proto[INSTALLED]) return;
  const original = proto.init;
  proto.init = function init(this: SMTPConnection): void {
    const delay = (this._server.options as { earlyTalkerDelay?: unknown }).earlyTalkerDelay;
    if (typeof delay !== 'number' || typeof this._setListeners !== 'function') {
      original.call(this);
      return;
    }
    this._setListeners(() => {
      const { maxClients } = this._server.options;
      if (maxClients && this._server.connections.size > maxClients) {
        this.send(421, `${this.name} Too many connected clients, try again in a moment`, false);
        return;
      }
      if (delay <= 0) {
        this.connectionReady();
        return;
      }
      setTimeout(() => this.connectionReady(), delay).unref();
    });
  };
  proto[INSTALLED] = true;
}

const INSTALLED = Symbol.for('sterna.smtp-server.greeting-delay');

/**
 * Gives smtp-server a `kumoReplies` option: a server with it set greets as KumoMTA does,
 * `220 <hostname> <banner>` (smtp-server says `220 <hostname> ESMTP <banner>`), and answers a
 * command it does not know with KumoMTA's `502 5.5.1 Command unimplemented` (smtp-server: `500
 * Error: command not recognized`). Servers without the option are unchanged.
 */
export function installKumoReplies(): void {
  const proto = SMTPConnection.prototype as SMTPConnection & {
    [KUMO_INSTALLED]?: true;
    _sendGreeting?: () => void;
  };
  if (proto[KUMO_INSTALLED]) return;
  const send = proto.send;
  proto.send = function kumoSend(this: SMTPConnection, code, data, context): void {
    if (
      code === 500 &&
      data === 'Error: command not recognized' &&
      (this._server.options as { kumoReplies?: unknown }).kumoReplies === true
    ) {
      send.call(this, 502, '5.5.1 Command unimplemented', context);
      return;
    }
    send.call(this, code, data, context);
  };
  const greet = proto._sendGreeting;
  if (typeof greet === 'function') {
    proto._sendGreeting = function kumoGreeting(this: SMTPConnection): void {
      const options = this._server.options as { kumoReplies?: unknown; banner?: string };
      if (options.kumoReplies !== true || this._server.options.lmtp) {
        greet.call(this);
        return;
      }
      const banner = options.banner ? ` ${options.banner}` : '';
      send.call(this, 220, `${this.name}${banner}`, false);
    };
  }
  proto[KUMO_INSTALLED] = true;
}

const KUMO_INSTALLED = Symbol.for('sterna.smtp-server.kumo-replies');

declare module 'smtp-server' {
  interface SMTPServerOptions {
    /** Milliseconds to wait for early talkers before the greeting (installGreetingDelay). */
    earlyTalkerDelay?: number | undefined;
    /** KumoMTA's greeting and unknown-command reply (installKumoReplies). */
    kumoReplies?: boolean | undefined;
  }
}
