import type { Logger } from '@sterna/core';
import type { ReceptionPolicy } from '../policy/types.js';
import type { RecordSink } from '../queue/types.js';
import type { Receiver } from '../reception/receiver.js';

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
