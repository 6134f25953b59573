import type { Logger } from '@sterna/core';
import type { PolicyMessage } from '../policy/types.js';
import type { RecordSink } from '../queue/types.js';
import type { Receiver } from '../reception/receiver.js';
import type { ServerTraceSink } from '../trace/hub.js';

/** What one policy event gave the listener (the runtime's `EventResult`, as plain data). */
export interface ListenerEventResult {
  /** The first value the handler returned. */
  readonly value: unknown;
  /** For each message passed: its new snapshot when the policy changed it. */
  readonly messages: readonly (PolicyMessage | undefined)[];
  /** The connection meta as the handler left it, when it called `conn_meta:set_meta`. */
  readonly connMeta?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * The policy as an ESMTP listener fires it: the runtime itself (`PolicyRuntime` fits), or the
 * listener thread's requests to it. `call` rejects with a `LuaRejection`-shaped error on
 * `kumo.reject`.
 */
export interface ListenerPolicy {
  hasEvent(event: string): boolean;
  call(event: string, args: readonly unknown[]): Promise<ListenerEventResult>;
}

/** What an ESMTP listener is built from. */
export interface EsmtpListenerDeps {
  readonly policy: ListenerPolicy;
  readonly receiver: Pick<Receiver, 'accept'>;
  readonly logs: RecordSink;
  readonly nodeId: string;
  readonly log: Logger;
  /** The certificate and key to offer with STARTTLS when the params name none. */
  readonly tls: { readonly key: string; readonly cert: string };
  /** Where sessions are traced (`trace-smtp-server`); not traced without it. */
  readonly trace?: ServerTraceSink | undefined;
}

/** A running listener. */
export interface EsmtpListener {
  /** The bound address, `host:port`. */
  readonly address: string;
  /** Stops accepting; open sessions are closed with 421. */
  close(): Promise<void>;
}
