import type { AddressInfo, Socket } from 'node:net';
import type { Readable } from 'node:stream';
import {
  buildLogRecord,
  cidrSet,
  errorText,
  type Logger,
  type MetaValue,
  makeResponse,
  newSpoolId,
  type PeerAddress,
} from '@sterna/core';
import {
  SMTPServer,
  type SMTPServerAddress,
  type SMTPServerDataStream,
  type SMTPServerSession,
} from 'smtp-server';
import { type PolicyRejection, type ReceptionPolicy, rejectionOf } from '../policy/types.js';
import type { RecordSink } from '../queue/types.js';
import type { AcceptedMessage, Receiver } from '../reception/receiver.js';
import { prependHeader, receivedHeader, supplementalHeader } from '../reception/trace-headers.js';
import { checkMessageData } from './data-checks.js';
import { installGreetingDelay, installKumoReplies } from './greeting.js';
import { type EsmtpListenerParams, parseListen } from './params.js';

/** What an ESMTP listener is built from. */
export interface EsmtpListenerDeps {
  readonly policy: ReceptionPolicy;
  readonly receiver: Pick<Receiver, 'accept'>;
  readonly logs: RecordSink;
  readonly nodeId: string;
  readonly log: Logger;
  /** The certificate and key to offer with STARTTLS when the params name none. */
  readonly tls: { readonly key: string; readonly cert: string };
}

/** A running listener. */
export interface EsmtpListener {
  /** The bound address, `host:port`. */
  readonly address: string;
  /** Stops accepting; open sessions are closed with 421. */
  close(): Promise<void>;
}

type Done = (error?: Error | null, message?: string) => void;

/**
 * Starts an ESMTP listener with KumoMTA's semantics: relaying only for `relay_hosts` or domains
 * the policy opens (`get_listener_domain`), one message per recipient, trace headers, the
 * reception events with `kumo.reject`, `250 OK ids=…` only after the spool has every copy, and a
 * `Rejection` record for every 4xx/5xx.
 */
export async function startEsmtpListener(
  params: EsmtpListenerParams,
  deps: EsmtpListenerDeps,
): Promise<EsmtpListener> {
  const { host, port } = parseListen(params.listen);
  const relay = cidrSet(params.relay_hosts, 'relay_hosts');
  const messagesPerConnection = new Map<string, number>();

  const connMeta = (session: SMTPServerSession): Record<string, MetaValue> => ({
    ...(params.meta as Record<string, MetaValue>),
    received_from: `${session.remoteAddress}:${session.remotePort}`,
    received_via: `${session.localAddress}:${session.localPort}`,
    hostname: params.hostname,
    reception_protocol: 'ESMTP',
    ...(session.hostNameAppearsAs ? { ehlo_domain: session.hostNameAppearsAs } : {}),
  });
  const peerOf = (session: SMTPServerSession): PeerAddress => ({
    name: session.hostNameAppearsAs ?? '',
    addr: session.remoteAddress,
  });

  // Every 4xx/5xx is logged as a Rejection and returned as the error smtp-server replies with.
  const refuse = (
    session: SMTPServerSession,
    rejection: PolicyRejection,
    command: string,
    recipient = '',
  ): Error => {
    const record = buildLogRecord({
      type: 'Rejection',
      sender: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
      recipient: recipient || session.envelope.rcptTo.map((r) => r.address),
      response: makeResponse(rejection.code, rejection.text, { command }),
      peerAddress: peerOf(session),
      receptionProtocol: 'ESMTP',
      nodeId: deps.nodeId,
    });
    deps.logs.write(record);
    return Object.assign(new Error(rejection.text), { responseCode: rejection.code });
  };

  // Runs a policy event; a kumo.reject becomes that reply, any other failure a 451.
  const fire = async (
    session: SMTPServerSession,
    event: string,
    args: unknown[],
    command: string,
    recipient?: string,
  ) => {
    if (!deps.policy.hasEvent(event)) return undefined;
    try {
      return { result: await deps.policy.call(event, args) };
    } catch (error) {
      const rejection = rejectionOf(error) ?? internalError(deps.log, event, error);
      return { error: refuse(session, rejection, command, recipient) };
    }
  };

  installGreetingDelay();
  installKumoReplies();
  const server = new SMTPServer({
    name: params.hostname,
    banner: params.banner,
    earlyTalkerDelay: 0,
    kumoReplies: true,
    size: params.max_message_size,
    maxClients: params.max_connections,
    socketTimeout: params.client_timeout * 1000,
    authOptional: true,
    disabledCommands: ['AUTH'],
    disableReverseLookup: true,
    hide8BITMIME: false,
    hideSMTPUTF8: false,
    logger: false,
    key: params.tls_private_key ?? deps.tls.key,
    cert: params.tls_certificate ?? deps.tls.cert,

    onClose(session) {
      messagesPerConnection.delete(session.id);
    },

    async onMailFrom(address: SMTPServerAddress, session, done: Done) {
      const count = messagesPerConnection.get(session.id) ?? 0;
      if (count >= params.max_messages_per_connection) {
        return done(
          refuse(
            session,
            { code: 421, text: '4.7.0 too many messages on this connection' },
            `MAIL FROM:<${address.address}>`,
          ),
        );
      }
      const fired = await fire(
        session,
        'smtp_server_mail_from',
        [address.address, connMeta(session)],
        `MAIL FROM:<${address.address}>`,
      );
      done(fired?.error);
    },

    async onRcptTo(address: SMTPServerAddress, session, done: Done) {
      const rcpt = address.address;
      const command = `RCPT TO:<${rcpt}>`;
      if (session.envelope.rcptTo.length >= params.max_recipients_per_message) {
        return done(
          refuse(session, { code: 452, text: '4.5.3 too many recipients' }, command, rcpt),
        );
      }
      if (!relay(session.remoteAddress)) {
        const domain = rcpt.slice(rcpt.lastIndexOf('@') + 1).toLowerCase();
        const fired = await fire(
          session,
          'get_listener_domain',
          [domain, params.listen, connMeta(session)],
          command,
          rcpt,
        );
        if (fired?.error) return done(fired.error);
        const relayTo =
          (fired?.result as { relay_to?: unknown } | null | undefined)?.relay_to === true;
        if (!relayTo) {
          const peer = `${session.remoteAddress}:${session.remotePort}`;
          return done(
            refuse(
              session,
              { code: 550, text: `5.7.1 relaying not permitted for ${peer}` },
              command,
              rcpt,
            ),
          );
        }
      }
      const fired = await fire(
        session,
        'smtp_server_rcpt_to',
        [rcpt, connMeta(session)],
        command,
        rcpt,
      );
      done(fired?.error);
    },

    onData(stream: Readable, session, done: Done) {
      const chunks: Buffer[] = [];
      // Past max_message_size smtp-server only counts the rest: keep none of it, or one client
      // could make the daemon hold any amount in memory before the 552.
      stream.on('data', (chunk: Buffer) => {
        if ((stream as SMTPServerDataStream).sizeExceeded) chunks.length = 0;
        else chunks.push(chunk);
      });
      stream.on('end', () => {
        if ((stream as SMTPServerDataStream).sizeExceeded) {
          return done(refuse(session, { code: 552, text: '5.3.4 message too big' }, 'DATA'));
        }
        receive(session, Buffer.concat(chunks)).then(
          (ids) => {
            messagesPerConnection.set(session.id, (messagesPerConnection.get(session.id) ?? 0) + 1);
            done(null, `OK ids=${ids.join(' ')}`);
          },
          (error: Error) => done(error),
        );
      });
    },
  });

  // One message per recipient (KumoMTA's BifurcateAlways), each through the reception event.
  async function receive(session: SMTPServerSession, raw: Buffer): Promise<string[]> {
    const checked = checkMessageData(raw, params);
    if ('rejection' in checked) throw refuse(session, checked.rejection, 'DATA');
    const sender = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    const meta = connMeta(session);
    const accepted: AcceptedMessage[] = [];
    for (const rcpt of session.envelope.rcptTo.map((r) => r.address)) {
      const id = newSpoolId();
      let message: AcceptedMessage = {
        id,
        sender,
        recipients: [rcpt],
        meta: { ...meta },
        data: checked.data,
      };
      if (params.trace_headers.received_header) {
        const header = receivedHeader({
          ehlo: session.hostNameAppearsAs ?? 'unknown',
          peerIp: session.remoteAddress,
          hostname: params.hostname,
          localIp: session.localAddress,
          protocol: session.secure ? 'ESMTPS' : 'ESMTP',
          id,
          recipient: rcpt,
          time: Date.now(),
        });
        message = { ...message, data: prependHeader(message.data, header) };
      }
      if (deps.policy.hasEvent('smtp_server_message_received')) {
        try {
          const after = await deps.policy.callWithMessage('smtp_server_message_received', message, [
            meta,
          ]);
          message = {
            ...after.message,
            meta: { ...after.message.meta } as Record<string, MetaValue>,
          };
        } catch (error) {
          throw refuse(
            session,
            rejectionOf(error) ?? internalError(deps.log, 'smtp_server_message_received', error),
            'DATA',
          );
        }
      }
      if (params.trace_headers.supplemental_header) {
        const header = supplementalHeader(
          params.trace_headers.header_name,
          message.recipients,
          message.meta,
          params.trace_headers.include_meta_names,
        );
        message = { ...message, data: prependHeader(message.data, header) };
      }
      accepted.push(message);
    }
    try {
      await deps.receiver.accept(accepted, peerOf(session));
    } catch (error) {
      deps.log.error('could not spool a received message', { error: errorText(error) });
      throw refuse(
        session,
        { code: 451, text: `4.3.0 ${params.hostname} technical difficulties: ${errorText(error)}` },
        'DATA',
      );
    }
    return accepted.map((m) => m.id);
  }

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
  const bound = server.server.address() as AddressInfo;
  const address =
    bound.family === 'IPv6' ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`;
  return {
    address,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function internalError(log: Logger, event: string, error: unknown): PolicyRejection {
  log.error(`policy event ${event} failed`, { error: errorText(error) });
  return { code: 451, text: `4.3.0 technical difficulties: ${event} failed` };
}
