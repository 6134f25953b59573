import type { Envelope, MetaValue } from './envelope.js';
import { type HeaderField, parseHeaders } from './headers.js';
import { newSpoolId, spoolIdTime } from './spool-id.js';

/**
 * A message as a driver sees it while delivering: the {@link Envelope} (its recipients are the
 * ones this delivery is for), the bytes exactly as queued (CRLF line endings, trace headers
 * included), the meta the policy set, and header look-ups. The meta is reached through
 * {@link Message.getMeta} and {@link Message.setMeta}, not as a field, because a driver may
 * change it while delivering (a `custom_lua` constructor's `msg:set_meta`).
 */
export interface Message extends Omit<Envelope, 'meta'> {
  /** Creation time, epoch milliseconds (from the id). */
  readonly created: number;
  /** The scheduled queue the message belongs to. */
  readonly queue: string;
  /** Failed attempts so far. */
  readonly num_attempts: number;
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

/**
 * What {@link createMessage} needs: an {@link Envelope} and data; everything else, the id and
 * meta included, has a default.
 */
export interface MessageInit extends Omit<Envelope, 'id' | 'meta'> {
  /** @default a new spool id for the current time */
  readonly id?: string;
  readonly data: Uint8Array | string;
  /** @default the domain of the first recipient */
  readonly queue?: string;
  /** @default 0 */
  readonly num_attempts?: number;
  /** @default `{}` */
  readonly meta?: Envelope['meta'];
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
    num_attempts: init.num_attempts ?? 0,
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
