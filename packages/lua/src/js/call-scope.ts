import {
  isConnectionMetaArg,
  isEnvelopeAddress,
  isMessageSnapshot,
  type MessageSnapshot,
} from '../message/message-snapshot.js';
import { newConnectionMeta } from './connection-meta.js';
import { newEnvelopeAddress } from './envelope-address.js';
import { type MessageHandle, openMessage } from './policy-message.js';

/**
 * The objects one call hands a TypeScript policy, made from the plain arguments the pool
 * posts (as the Lua context marshals them): a message snapshot, alone or in an array, becomes
 * a `Message`; `envelopeAddress(…)` an `EnvelopeAddress`; `connectionMetaArg(…)` a
 * `ConnectionMeta`. After the call, {@link changes} reads what the policy changed and
 * {@link close} ends the objects' life.
 */
export class CallScope {
  private readonly handles: MessageHandle[] = [];
  private conn: ReturnType<typeof newConnectionMeta> | undefined;

  /** The arguments as the handler receives them. */
  wrap(args: readonly unknown[]): unknown[] {
    return args.map((a) => {
      if (isMessageSnapshot(a)) return this.message(a);
      if (Array.isArray(a) && a.length > 0 && isMessageSnapshot(a[0])) {
        return a.map((m) => (isMessageSnapshot(m) ? this.message(m) : m));
      }
      if (isEnvelopeAddress(a)) return newEnvelopeAddress(a.__sterna_address);
      if (isConnectionMetaArg(a)) {
        this.conn = newConnectionMeta({ ...a.__sterna_conn_meta });
        return this.conn.meta;
      }
      return a;
    });
  }

  /** Messages open now. */
  get size(): number {
    return this.handles.length;
  }

  /**
   * For each message passed (argument order, arrays flattened): its new snapshot when the call
   * changed it; and the whole connection meta when the call set a key of it.
   */
  changes(): {
    messages: (MessageSnapshot | undefined)[];
    connMeta: Record<string, unknown> | undefined;
  } {
    return {
      messages: this.handles.map((h) => (h.state.changed ? h.state.snapshot() : undefined)),
      connMeta: this.conn?.changed ? this.conn.values() : undefined,
    };
  }

  /** Ends the life of the call's message objects: later use throws. */
  close(): void {
    for (const h of this.handles) h.close();
  }

  private message(snapshot: MessageSnapshot) {
    const handle = openMessage(snapshot);
    this.handles.push(handle);
    return handle.message;
  }
}
