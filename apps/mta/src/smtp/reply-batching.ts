import type { Socket } from 'node:net';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

/**
 * smtp-server (3.21) writes every reply to the socket as it is made, so a client that pipelines
 * MAIL, RCPT and DATA (RFC 2920; nodemailer, Postfix and KumoMTA all do when offered) gets three
 * writes and three segments back. RFC 2920 §3.2 lets a server send the replies to a group of
 * pipelined commands together, and Postfix's smtpd does.
 *
 * `installReplyBatching()` gives smtp-server a `batchReplies` option: a server with it set corks
 * the socket at the first reply of an event-loop turn and uncorks it when that turn's immediates
 * run, so every reply made in one turn leaves in one write. A reply that waits for something
 * (the spool's commit, a policy call in a worker) comes in a later turn and is written then, as
 * before. Two replies are never held:
 * - a 220, the greeting and STARTTLS's go-ahead: the TLS handshake takes the socket over right
 *   after it, so what is held is written first and the 220 goes out at once;
 * - anything while a STARTTLS upgrade is under way.
 * Closing the connection ends the socket, and ending it writes what is held.
 * Installed once per thread; servers without the option are unchanged.
 */
export function installReplyBatching(): void {
  const proto = SMTPConnection.prototype as SMTPConnection & { [INSTALLED]?: true };
  if (proto[INSTALLED]) return;
  const send = proto.send;
  proto.send = function batchedSend(this: SMTPConnection, code, data, context): void {
    const socket = (this as unknown as { _socket?: HeldSocket })._socket;
    const options = this._server.options as { batchReplies?: unknown };
    if (socket === undefined || options.batchReplies !== true) {
      send.call(this, code, data, context);
      return;
    }
    if (code === 220 || (this as unknown as { _upgrading?: boolean })._upgrading) {
      release(socket);
      send.call(this, code, data, context);
      return;
    }
    if (!socket[HELD] && !socket.destroyed) {
      socket[HELD] = true;
      socket.cork();
      setImmediate(release, socket);
    }
    send.call(this, code, data, context);
  };
  proto[INSTALLED] = true;
}

type HeldSocket = Socket & { [HELD]?: boolean };

/** Writes what this module held back on `socket` (a no-op when it holds nothing). */
function release(socket: HeldSocket): void {
  if (!socket[HELD]) return;
  socket[HELD] = false;
  socket.uncork();
}

const INSTALLED = Symbol.for('sterna.smtp-server.reply-batching');
const HELD = Symbol('sterna.smtp.replies-held');

declare module 'smtp-server' {
  interface SMTPServerOptions {
    /** Replies made in one event-loop turn leave in one write (installReplyBatching). */
    batchReplies?: boolean | undefined;
  }
}
