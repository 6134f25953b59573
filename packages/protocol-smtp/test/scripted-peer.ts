import net from 'node:net';
import { later } from './helpers.js';

/** What a scripted peer saw: one entry per connection, the command lines in order. */
export interface ScriptedPeer {
  readonly port: number;
  readonly sessions: string[][];
  /** Per connection, the bytes as they arrived, one string per read (shows pipelined writes). */
  readonly chunks: string[][];
}

/**
 * A minimal SMTP peer on 127.0.0.1 that offers STARTTLS, answers it with 220, and then sends
 * bytes that are not a TLS handshake, so the client's handshake fails whatever it verifies.
 * Sessions that do not ask for STARTTLS get a working clear-text transaction. With `inject`, a
 * reply follows the 220 in the same write (the STARTTLS injection attack).
 */
export async function brokenTlsPeer(inject = false): Promise<ScriptedPeer> {
  return scriptedPeer({ inject });
}

/** How {@link scriptedPeer} behaves. */
export interface PeerScript {
  /** The greeting line. @default '220 scripted.test ESMTP' */
  readonly banner?: string;
  /** Answer EHLO with 502 (an SMTP-only peer), so the client falls back to HELO. */
  readonly refuseEhlo?: boolean;
  /** Send a reply right after the 220 to STARTTLS, in the same write. */
  readonly inject?: boolean;
  /** Announce `SIZE <n>` in the EHLO reply. */
  readonly size?: number;
}

/**
 * A line-based SMTP peer for behaviour the testkit's sink cannot show: a refused banner, an
 * SMTP-only peer, a TLS handshake that fails whatever the client verifies.
 */
export async function scriptedPeer(script: PeerScript = {}): Promise<ScriptedPeer> {
  const inject = script.inject ?? false;
  const sessions: string[][] = [];
  const chunks: string[][] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const lines: string[] = [];
    sessions.push(lines);
    const reads: string[] = [];
    chunks.push(reads);
    let inData = false;
    let handshaking = false;
    let buffer = '';
    socket.setNoDelay(true);
    socket.write(`${script.banner ?? '220 scripted.test ESMTP'}\r\n`);
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      if (handshaking) {
        // The client's hello: answer with something that is not a TLS record.
        socket.end('\x00\x01not tls at all\r\n');
        return;
      }
      reads.push(chunk.toString('latin1'));
      buffer += chunk.toString('latin1');
      let at = buffer.indexOf('\r\n');
      while (at >= 0) {
        const line = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        at = buffer.indexOf('\r\n');
        if (inData) {
          if (line === '.') {
            inData = false;
            socket.write('250 2.0.0 stored\r\n');
          }
          continue;
        }
        lines.push(line);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' && script.refuseEhlo) socket.write('502 5.5.1 no ESMTP here\r\n');
        else if (verb === 'EHLO')
          socket.write(
            `250-scripted.test\r\n${script.size ? `250-SIZE ${script.size}\r\n` : ''}250-PIPELINING\r\n250 STARTTLS\r\n`,
          );
        else if (verb === 'STAR') {
          handshaking = true;
          socket.write(`220 2.0.0 go ahead\r\n${inject ? '250 injected\r\n' : ''}`);
        } else if (verb === 'DATA') {
          inData = true;
          socket.write('354 go on\r\n');
        } else if (verb === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  later(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as net.AddressInfo).port, sessions, chunks };
}
