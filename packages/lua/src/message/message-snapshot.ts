import { domainOf, type Envelope, type Message, type MetaValue } from '@sterna/core';
import { formatQueueName, spoolIdTime } from '@sterna/core/engine';
import type { Scheduling } from './scheduling.js';

/**
 * A message as it crosses into a Lua context: core's {@link Envelope} and the bytes, as plain
 * data so it can be posted to a worker, plus what a policy may read or change that no other
 * stage carries (`scheduling`, a `due` of `null` for "as soon as possible"). It is its own type
 * rather than an engine stage's because it serves every caller alike — the listeners before the
 * message is spooled, the queues, a driver's `Message` — so what the engine knows is optional.
 * The daemon keeps the real message; what the policy changed comes back as a new snapshot.
 */
export interface MessageSnapshot extends Envelope {
  /** The message bytes (headers and body, CRLF). */
  readonly data: Uint8Array;
  /**
   * The scheduled queue name `msg:queue_name()` returns. When absent it is computed from the
   * meta (`queue`, `campaign`, `tenant`, `routing_domain`) and the first recipient's domain.
   */
  readonly queue?: string | undefined;
  /** @default 0 */
  readonly num_attempts?: number | undefined;
  /** Creation time, epoch milliseconds. @default the time in the id */
  readonly created?: number | undefined;
  /** Scheduling constraints (`msg:set_scheduling`); none when absent. */
  readonly scheduling?: Scheduling | undefined;
  /**
   * A due time the policy set with `msg:set_due`: epoch milliseconds, or `null` for "as soon
   * as possible". Absent when the policy did not call it.
   */
  readonly due?: number | null | undefined;
}

/**
 * An envelope address as an event argument (`smtp_server_mail_from(sender, conn_meta)`): in
 * Lua it is an `EnvelopeAddress` with `.user`, `.domain`, `.email` and `tostring`.
 */
export interface EnvelopeAddressArg {
  readonly __sterna_address: string;
}

/** Wraps an address so the policy receives it as an `EnvelopeAddress`. */
export function envelopeAddress(email: string): EnvelopeAddressArg {
  return { __sterna_address: email };
}

/** True for a value made by {@link envelopeAddress}. */
export function isEnvelopeAddress(value: unknown): value is EnvelopeAddressArg {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { __sterna_address?: unknown }).__sterna_address === 'string'
  );
}

/**
 * Connection metadata as an event argument (`smtp_server_mail_from(sender, conn_meta)`): in Lua
 * it is KumoMTA's connection metadata object, `conn_meta:get_meta(name)` and
 * `conn_meta:set_meta(name, value)`, and its keys can also be read as fields
 * (`conn_meta.received_from`). After a `set_meta` the call's result carries the whole meta back
 * (`EventResult.connMeta`), for the caller to keep for the connection's later events.
 */
export interface ConnectionMetaArg {
  readonly __sterna_conn_meta: Readonly<Record<string, unknown>>;
}

/** Wraps connection metadata so the policy receives it as a connection metadata object. */
export function connectionMetaArg(meta: Readonly<Record<string, unknown>>): ConnectionMetaArg {
  return { __sterna_conn_meta: meta };
}

/** True for a value made by {@link connectionMetaArg}. */
export function isConnectionMetaArg(value: unknown): value is ConnectionMetaArg {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { __sterna_conn_meta?: unknown }).__sterna_conn_meta === 'object'
  );
}

/** True for a value shaped like a {@link MessageSnapshot}. */
export function isMessageSnapshot(value: unknown): value is MessageSnapshot {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.id === 'string' &&
    typeof v.sender === 'string' &&
    Array.isArray(v.recipients) &&
    v.data instanceof Uint8Array &&
    typeof v.meta === 'object'
  );
}

/** True for a core {@link Message} (what drivers hold). */
export function isCoreMessage(value: unknown): value is Message {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.metaObject === 'function' && typeof v.getMeta === 'function' && 'data' in v;
}

/** A snapshot of a core {@link Message}. */
export function snapshotOf(message: Message): MessageSnapshot {
  return {
    id: message.id,
    sender: message.sender,
    recipients: [...message.recipients],
    meta: message.metaObject(),
    data: message.data,
    queue: message.queue,
    num_attempts: message.num_attempts,
    created: message.created,
  };
}

/**
 * Writes back into a core {@link Message} what it can hold: its meta. (A core message's
 * envelope and data are fixed while a driver delivers it.)
 */
export function applyMetaChanges(message: Message, changed: MessageSnapshot): void {
  const before = message.metaObject();
  for (const key of Object.keys(before)) {
    if (!(key in changed.meta)) message.setMeta(key, undefined);
  }
  for (const [key, value] of Object.entries(changed.meta)) message.setMeta(key, value);
}

/** The queue name KumoMTA derives for a message (§6): meta `queue` wins. */
export function queueNameOf(snapshot: {
  readonly recipients: readonly string[];
  readonly meta: Readonly<Record<string, MetaValue>>;
}): string {
  const meta = snapshot.meta;
  if (typeof meta.queue === 'string') return meta.queue;
  const text = (key: string) => (typeof meta[key] === 'string' ? (meta[key] as string) : undefined);
  return formatQueueName({
    domain: domainOf(snapshot.recipients[0] ?? '') || 'unknown',
    tenant: text('tenant'),
    campaign: text('campaign'),
    routingDomain: text('routing_domain'),
  });
}

/** The creation time of a snapshot. */
export function createdOf(snapshot: MessageSnapshot): number {
  if (snapshot.created !== undefined) return snapshot.created;
  try {
    return spoolIdTime(snapshot.id);
  } catch {
    return 0;
  }
}

/** The message snapshots among call arguments, in order (arrays, as `send_batch` takes, flattened). */
export function messageArgs(args: readonly unknown[]): MessageSnapshot[] {
  const out: MessageSnapshot[] = [];
  for (const a of args) {
    if (isMessageSnapshot(a)) out.push(a);
    else if (Array.isArray(a)) for (const m of a) if (isMessageSnapshot(m)) out.push(m);
  }
  return out;
}

// Marks a snapshot whose data was left out because the call did not change it.
interface Stripped extends MessageSnapshot {
  readonly sameData?: true;
}

/**
 * Drops the data of changed snapshots whose bytes the call did not touch, so a large message
 * does not travel back from the worker when only its meta changed.
 */
export function stripUnchangedData(
  args: readonly unknown[],
  messages: (MessageSnapshot | undefined)[],
): void {
  const sent = messageArgs(args);
  messages.forEach((m, i) => {
    if (m && m.data === sent[i]?.data) {
      messages[i] = { ...m, data: new Uint8Array(0), sameData: true } as Stripped;
    }
  });
}

/** Puts back the data {@link stripUnchangedData} dropped (the caller still has it). */
export function restoreUnchangedData(
  args: readonly unknown[],
  messages: (MessageSnapshot | undefined)[],
): void {
  const sent = messageArgs(args);
  messages.forEach((m, i) => {
    const original = sent[i];
    if (m && (m as Stripped).sameData && original) {
      const { sameData: _, ...rest } = m as Stripped;
      messages[i] = { ...rest, data: original.data };
    }
  });
}
