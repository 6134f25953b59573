import {
  type Envelope,
  type MetaValue,
  makeResponse,
  type PeerAddress,
  type TlsInfo,
} from '@sterna/core';
import { buildLogRecord, formatQueueName, parseHeaders } from '@sterna/core/engine';
import { telemetry } from '../observe/telemetry.js';
import type { QueueManager } from '../queue/queue-manager.js';
import type { QueuedMessage, RecordSink } from '../queue/types.js';
import type { Spool } from '../spool/index.js';
import { intern, shareMeta } from '../spool/intern.js';

/**
 * A message ready to be made durable: core's {@link Envelope} and the bytes, trace headers
 * added, policy events done.
 */
export interface AcceptedMessage extends Envelope {
  readonly meta: Record<string, MetaValue>;
  readonly data: Uint8Array;
}

/** What {@link Receiver} is built from. */
export interface ReceiverDeps {
  readonly spool: Spool;
  readonly queues: QueueManager;
  readonly logs: RecordSink;
  readonly nodeId: string;
  /** Whether any log sink records headers; when false they are not parsed. @default true */
  readonly recordHeaders?: boolean;
  readonly now?: () => number;
}

/** The scheduled queue a message belongs to: meta `queue`, else built from its meta and first recipient. */
export function queueOf(message: Pick<AcceptedMessage, 'recipients' | 'meta'>): string {
  const explicit = message.meta.queue;
  if (typeof explicit === 'string' && explicit !== '') return explicit;
  const str = (v: MetaValue | undefined) => (typeof v === 'string' ? v : undefined);
  const first = message.recipients[0] ?? '';
  return formatQueueName({
    domain: first.slice(first.lastIndexOf('@') + 1) || 'localhost',
    tenant: str(message.meta.tenant),
    campaign: str(message.meta.campaign),
    routingDomain: str(message.meta.routing_domain),
  });
}

/**
 * The one way into the queues for every listener: a message is spooled (durable) before it is
 * acknowledged, then logged as `Reception` and scheduled. Queue `null` discards after logging.
 */
export class Receiver {
  readonly #deps: ReceiverDeps;

  constructor(deps: ReceiverDeps) {
    this.#deps = deps;
  }

  /**
   * Makes messages durable and queues them. Rejects (nothing acknowledged) when the spool cannot
   * store them; messages already stored by then are still delivered. With `deferredSpool`
   * (KumoMTA's option of that name) a spool that can hold messages in memory keeps them there
   * until their first transient failure, instead of writing them now.
   */
  async accept(
    messages: readonly AcceptedMessage[],
    peer: PeerAddress | null,
    options?: { readonly deferredSpool?: boolean },
  ): Promise<void> {
    const { spool } = this.#deps;
    const hold = options?.deferredSpool === true ? spool.hold?.bind(spool) : undefined;
    const now = this.#deps.now ?? Date.now;
    const queued: QueuedMessage[] = [];
    const results = await Promise.allSettled(
      messages.map(async (m) => {
        const queue = queueOf(m);
        // A log hook's message (a record being published) is queued without a Reception
        // record of its own, as in KumoMTA: only its attempts are logged.
        const published = m.meta.reception_protocol === 'LogRecord';
        if (queue === 'null') {
          if (!published) this.#reception(m, queue, peer, now());
          return;
        }
        const entry = {
          id: m.id,
          sender: m.sender,
          recipients: m.recipients,
          meta: m.meta,
          size: m.data.byteLength,
          num_attempts: 0,
        };
        if (hold) hold(entry, m.data);
        else await spool.store(entry, m.data);
        if (!published) this.#reception(m, queue, peer, now());
        // Written out, not `{ ...entry, due, … }`: V8 gives an object spread and then
        // extended a hidden class of its own (~320 bytes per queued message); this literal
        // shares one with every other, and with the messages a restart queues. Strings and
        // meta equal to other messages' are shared (see spool/intern.ts).
        queued.push({
          id: m.id,
          sender: intern(m.sender),
          recipients: [...m.recipients],
          meta: shareMeta({ ...m.meta }),
          size: entry.size,
          num_attempts: 0,
          due: now(),
          queue: intern(queue),
        });
      }),
    );
    this.#deps.queues.counters.received += queued.length;
    for (const message of queued) {
      const protocol = message.meta.reception_protocol;
      if (protocol === 'LogRecord') continue; // not received from a listener
      telemetry.messagesReceived(protocol === 'HTTP' ? 'http_listener' : 'esmtp_listener', 1);
    }
    for (const message of queued) this.#deps.queues.schedule(message);
    // Any failure refuses the whole transaction: the client retries it, and the copies already
    // stored are delivered too (at least once beats lost).
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  #reception(m: AcceptedMessage, queue: string, peer: PeerAddress | null, time: number): void {
    const protocol = m.meta.reception_protocol;
    const record = buildLogRecord({
      type: 'Reception',
      id: m.id,
      sender: m.sender,
      recipient: m.recipients,
      queue,
      size: m.data.byteLength,
      response: makeResponse(250, '', { enhanced: null }),
      peer_address: peer,
      time,
      reception_protocol: typeof protocol === 'string' ? protocol : null,
      nodeid: this.#deps.nodeId,
      ...tlsOfMeta(m.meta),
    });
    const headers = this.#deps.recordHeaders === false ? [] : parseHeaders(m.data);
    this.#deps.logs.write(record, { meta: m.meta, headers });
  }
}

/**
 * The TLS facts a listener put in the message's meta (`tls_cipher`, `tls_protocol_version`,
 * `tls_peer_subject_name`), for its `Reception` record as KumoMTA logs them.
 */
function tlsOfMeta(meta: Readonly<Record<string, MetaValue>>): { tls?: TlsInfo } {
  const {
    tls_cipher: cipher,
    tls_protocol_version: version,
    tls_peer_subject_name: subject,
  } = meta;
  if (typeof cipher !== 'string' && typeof version !== 'string') return {};
  return {
    tls: {
      cipher: typeof cipher === 'string' ? cipher : undefined,
      protocolVersion: typeof version === 'string' ? version : undefined,
      peerSubjectName: Array.isArray(subject) ? subject.map(String) : undefined,
    },
  };
}
