import { type HeaderField, parseHeaders } from './headers.js';
import { newSpoolId, spoolIdTime } from './spool-id.js';

/** A JSON-like value kept in a message's meta. */
export type MetaValue =
  | string
  | number
  | boolean
  | null
  | readonly MetaValue[]
  | { readonly [key: string]: MetaValue };

/**
 * A message as a driver sees it while delivering: the envelope, the bytes exactly as queued
 * (CRLF line endings, trace headers included), the meta the policy set, and header look-ups.
 */
export interface Message {
  /** The spool id: 32 lowercase hex characters. */
  readonly id: string;
  /** The envelope sender (`MAIL FROM`); `''` for the null sender. */
  readonly sender: string;
  /** The envelope recipients this delivery is for. */
  readonly recipients: readonly string[];
  /** Creation time, epoch milliseconds (from the id). */
  readonly created: number;
  /** The scheduled queue the message belongs to. */
  readonly queue: string;
  /** Failed attempts so far (KumoMTA's `num_attempts`). */
  readonly numAttempts: number;
  /** The size of the data in bytes. */
  readonly size: number;
  /** The message bytes. */
  readonly data: Uint8Array;
  /** The message bytes as a web stream. */
  stream(): ReadableStream<Uint8Array>;
  /** A meta value, or undefined when unset. */
  getMeta(key: string): MetaValue | undefined;
  /** Sets a meta value; `undefined` removes the key. */
  setMeta(key: string, value: MetaValue | undefined): void;
  /** The meta as a plain object (a copy). */
  metaObject(): Record<string, MetaValue>;
  /** The first header with this name (case-insensitive), unfolded, or undefined. */
  header(name: string): string | undefined;
  /** Every header with this name (case-insensitive), in order. */
  headers(name: string): string[];
  /** Every header field, in order. */
  allHeaders(): readonly HeaderField[];
}

/** What {@link createMessage} needs; everything but the envelope and data has a default. */
export interface MessageInit {
  /** @default a new spool id for the current time */
  readonly id?: string;
  readonly sender: string;
  readonly recipients: readonly string[];
  readonly data: Uint8Array | string;
  /** @default the domain of the first recipient */
  readonly queue?: string;
  /** @default 0 */
  readonly numAttempts?: number;
  readonly meta?: Readonly<Record<string, MetaValue>>;
}

/** Builds an in-memory {@link Message}; the engine and tests use it alike. */
export function createMessage(init: MessageInit): Message {
  const id = init.id ?? newSpoolId();
  const data = typeof init.data === 'string' ? new TextEncoder().encode(init.data) : init.data;
  const meta = new Map<string, MetaValue>(Object.entries(init.meta ?? {}));
  const recipients = Object.freeze([...init.recipients]);
  let fields: HeaderField[] | undefined;
  const parsed = () => {
    fields ??= parseHeaders(data);
    return fields;
  };
  const named = (name: string) => {
    const lower = name.toLowerCase();
    return parsed()
      .filter((f) => f.name.toLowerCase() === lower)
      .map((f) => f.value);
  };
  return {
    id,
    sender: init.sender,
    recipients,
    created: spoolIdTime(id),
    queue: init.queue ?? domainOf(recipients[0] ?? '').toLowerCase(),
    numAttempts: init.numAttempts ?? 0,
    size: data.byteLength,
    data,
    stream: () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(data);
          controller.close();
        },
      }),
    getMeta: (key) => meta.get(key),
    setMeta: (key, value) => {
      if (value === undefined) meta.delete(key);
      else meta.set(key, value);
    },
    metaObject: () => Object.fromEntries(meta),
    header: (name) => named(name)[0],
    headers: named,
    allHeaders: parsed,
  };
}

/** The local part of an address (everything before the last `@`). */
export function localPartOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? address : address.slice(0, at);
}

/** The domain of an address (everything after the last `@`), or `''`. */
export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1);
}
