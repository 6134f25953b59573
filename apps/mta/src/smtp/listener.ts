import type { AddressInfo, Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { errorText } from '@sterna/core';
import { cidrSet } from '@sterna/core/engine';
import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';
import { installKumoAuth, SmtpAuth } from './auth.js';
import { installKumoEhlo } from './ehlo.js';
import { EnvelopeChecks } from './envelope-checks.js';
import { installGreetingDelay, installKumoReplies } from './greeting.js';
import type { EsmtpListener, EsmtpListenerDeps } from './listener-types.js';
import { MessageReception } from './message-reception.js';
import { type EsmtpListenerParams, formatBound, parseListen } from './params.js';
import { installReplyBatching } from './reply-batching.js';
import { SessionEvents } from './session-events.js';
import { recordTls } from './session-meta.js';
import { SessionPolicy } from './session-policy.js';
import { ServerTraceTap } from './trace-tap.js';

export type { EsmtpListener, EsmtpListenerDeps } from './listener-types.js';

type Done = (error?: Error | null, message?: string) => void;

/**
 * Starts an ESMTP listener with KumoMTA's semantics: `smtp_server_connection_accepted` before the
 * banner, `smtp_server_ehlo`, relaying only for `relay_hosts` or domains the policy opens
 * (`get_listener_domain`), `AUTH PLAIN` after STARTTLS when the policy handles
 * `smtp_server_auth_plain`, `smtp_server_data` once per transaction, then one message per
 * recipient, trace headers, the reception events with `kumo.reject`, `250 OK ids=…` only after
 * the spool has every copy, and a `Rejection` record for every 4xx/5xx. What the policy sets
 * with `conn_meta:set_meta` lasts for the connection.
 */
export async function startEsmtpListener(
  params: EsmtpListenerParams,
  deps: EsmtpListenerDeps,
): Promise<EsmtpListener> {
  const { host, port } = parseListen(params.listen);
  const tap = new ServerTraceTap(params, deps.trace);
  const policy = new SessionPolicy(deps, tap);
  const envelope = new EnvelopeChecks(params, policy, cidrSet(params.relay_hosts, 'relay_hosts'));
  const reception = new MessageReception(params, { ...deps, session: policy, tap });
  const events = new SessionEvents(params, policy);
  const auth = deps.policy.hasEvent('smtp_server_auth_plain')
    ? new SmtpAuth(params, policy)
    : undefined;
  // Messages accepted per connection, for max_messages_per_connection.
  const accepted = new Map<string, number>();

  installGreetingDelay();
  installKumoReplies();
  installKumoAuth();
  installKumoEhlo();
  installReplyBatching();
  const server = new SMTPServer({
    name: params.hostname,
    banner: params.banner,
    earlyTalkerDelay: 0,
    kumoReplies: true,
    batchReplies: true,
    size: params.max_message_size,
    maxClients: params.max_connections,
    socketTimeout: params.client_timeout * 1000,
    authOptional: true,
    authMethods: ['PLAIN'],
    // Without a smtp_server_auth_plain handler there is nothing to authenticate against.
    disabledCommands: auth ? [] : ['AUTH'],
    kumoAuth: auth?.handle,
    kumoEhlo: deps.policy.hasEvent('smtp_server_ehlo') ? events.ehlo : undefined,
    disableReverseLookup: true,
    hide8BITMIME: false,
    hideSMTPUTF8: false,
    // Only a tracer reads smtp-server's log (the commands and replies of each session).
    logger: tap.logger,
    key: params.tls_private_key ?? deps.tls.key,
    cert: params.tls_certificate ?? deps.tls.cert,

    onConnect(session, done: Done) {
      tap.opened(session);
      events.connectionAccepted(session).then(done, done);
    },

    onClose(session) {
      tap.closed(session);
      accepted.delete(session.id);
    },

    onSecure(socket, session, done: Done) {
      recordTls(session, socket as TLSSocket);
      done();
    },

    async onMailFrom(address, session, done: Done) {
      done(await envelope.mailFrom(address, session, accepted.get(session.id) ?? 0));
    },

    async onRcptTo(address, session, done: Done) {
      done(await envelope.rcptTo(address, session));
    },

    onData(stream: Readable, session, done: Done) {
      const chunks: Buffer[] = [];
      const data = stream as SMTPServerDataStream;
      // Past max_message_size smtp-server only counts the rest: keep none of it, or one client
      // could make the daemon hold any amount in memory before the 552.
      stream.on('data', (chunk: Buffer) => {
        if (data.sizeExceeded) chunks.length = 0;
        else chunks.push(chunk);
      });
      stream.on('end', () => {
        if (data.sizeExceeded) {
          return done(policy.refuse(session, { code: 552, text: '5.3.4 message too big' }, 'DATA'));
        }
        tap.data(session, chunks);
        reception.receive(session, Buffer.concat(chunks)).then(
          (ids) => {
            accepted.set(session.id, (accepted.get(session.id) ?? 0) + 1);
            done(null, `OK ids=${ids.join(' ')}`);
          },
          (error: Error) => done(error),
        );
      });
    },
  });

  server.on('error', (error: Error) =>
    deps.log.warn('smtp listener error', { error: errorText(error) }),
  );
  server.server.on('connection', (socket: Socket) => socket.setNoDelay(true));
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  return {
    address: formatBound(server.server.address() as AddressInfo),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
