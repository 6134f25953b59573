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

declare module 'smtp-server' {
  interface SMTPServerOptions {
    /** Milliseconds to wait for early talkers before the greeting (installGreetingDelay). */
    earlyTalkerDelay?: number | undefined;
  }
}
