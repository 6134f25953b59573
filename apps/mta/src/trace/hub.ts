import type { SessionTracePayload, SessionTracer, TracedSession, TraceMeta } from '@sterna/core';
import type { TraceFilter } from './filters.js';
import type {
  ClientTraceEvent,
  ClientTracePayload,
  ServerTraceEvent,
  ServerTracePayload,
} from './types.js';

/** A WebSocket client of one stream: its filter, terseness and where events go. */
export interface TraceSubscriber<E> {
  readonly filter: TraceFilter;
  readonly terse: boolean;
  send(event: E): void;
}

/**
 * One trace stream (server or client). Publishers read {@link active} first, so a daemon nobody
 * traces builds no events at all; whoever mirrors the stream elsewhere (a listener thread) is
 * told when it turns on and off.
 */
export class TraceChannel<E extends { conn_meta: Readonly<Record<string, unknown>> }> {
  readonly #subscribers = new Set<TraceSubscriber<E>>();
  readonly #watchers = new Set<(active: boolean) => void>();
  readonly #abbreviate: (event: E) => E;
  #active = false;

  constructor(abbreviate: (event: E) => E) {
    this.#abbreviate = abbreviate;
  }

  /** True while at least one subscriber listens. */
  get active(): boolean {
    return this.#active;
  }

  /** Adds a subscriber; the returned function removes it. */
  subscribe(subscriber: TraceSubscriber<E>): () => void {
    this.#subscribers.add(subscriber);
    this.#update();
    return () => {
      this.#subscribers.delete(subscriber);
      this.#update();
    };
  }

  /** Calls `watch` now and whenever the stream turns on or off; returns the unwatch function. */
  watch(watch: (active: boolean) => void): () => void {
    this.#watchers.add(watch);
    watch(this.#active);
    return () => this.#watchers.delete(watch);
  }

  /** Hands `event` to every subscriber whose filter takes it. */
  publish(event: E): void {
    if (!this.#active) return;
    let terse: E | undefined;
    for (const subscriber of this.#subscribers) {
      if (!subscriber.filter(event.conn_meta)) continue;
      if (subscriber.terse) {
        terse ??= this.#abbreviate(event);
        subscriber.send(terse);
      } else subscriber.send(event);
    }
  }

  #update(): void {
    const active = this.#subscribers.size > 0;
    if (active === this.#active) return;
    this.#active = active;
    for (const watch of this.#watchers) watch(active);
  }
}

/** A multi-line text cut to its first line, with the whole length (KumoMTA's `terse`). */
function snippet(text: string): { snippet: string; len: number } | undefined {
  const end = text.indexOf('\n');
  if (end < 0 || end === text.length - 1) return undefined;
  return { snippet: text.slice(0, end + 1), len: text.length };
}

function terseServer(event: ServerTraceEvent): ServerTraceEvent {
  const p = event.payload;
  const cut = typeof p === 'object' && 'Read' in p ? snippet(p.Read) : undefined;
  return cut ? { ...event, payload: { AbbreviatedRead: cut } } : event;
}

function terseClient(event: ClientTraceEvent): ClientTraceEvent {
  const p = event.payload;
  const cut = typeof p === 'object' && 'Write' in p ? snippet(p.Write) : undefined;
  return cut ? { ...event, payload: { AbbreviatedWrite: cut } } : event;
}

/** Where the SMTP listeners publish inbound session events. */
export interface ServerTraceSink {
  readonly active: boolean;
  publish(event: ServerTraceEvent): void;
  /** Calls `watch` now and whenever tracing turns on or off (for a listener thread). */
  watch?(watch: (active: boolean) => void): () => void;
}

/** Builds a server event stamped now. */
export function serverEvent(
  conn_meta: Readonly<Record<string, unknown>>,
  payload: ServerTracePayload,
): ServerTraceEvent {
  return { conn_meta: { ...conn_meta }, payload, when: new Date().toISOString() };
}

let sessions = 0;

class HubSession implements TracedSession {
  readonly #channel: TraceChannel<ClientTraceEvent>;
  readonly #meta: Record<string, unknown>;

  constructor(channel: TraceChannel<ClientTraceEvent>, meta: Record<string, unknown>) {
    this.#channel = channel;
    this.#meta = meta;
  }

  get active(): boolean {
    return this.#channel.active;
  }

  update(meta: TraceMeta): void {
    Object.assign(this.#meta, meta);
  }

  emit(payload: SessionTracePayload): void {
    if (!this.#channel.active) return;
    this.#channel.publish({
      conn_meta: { ...this.#meta },
      payload: payload as ClientTracePayload,
      when: new Date().toISOString(),
    });
  }
}

class HubTracer implements SessionTracer {
  readonly #channel: TraceChannel<ClientTraceEvent>;
  readonly #base: TraceMeta;

  constructor(channel: TraceChannel<ClientTraceEvent>, base: TraceMeta) {
    this.#channel = channel;
    this.#base = base;
  }

  get active(): boolean {
    return this.#channel.active;
  }

  with(meta: TraceMeta): SessionTracer {
    return new HubTracer(this.#channel, { ...this.#base, ...meta });
  }

  begin(meta?: TraceMeta): TracedSession {
    // A number of our own, so a reader can tell interleaved sessions apart.
    sessions++;
    return new HubSession(this.#channel, { ...this.#base, ...meta, session_id: sessions });
  }
}

/**
 * The daemon's live traces: the SMTP listeners publish inbound sessions on {@link server}, the
 * drivers outbound ones through {@link tracer} (their `DriverContext.tracer`), and the
 * `/api/admin/trace-smtp-*` WebSockets subscribe.
 */
export class TraceHub {
  readonly server = new TraceChannel<ServerTraceEvent>(terseServer);
  readonly client = new TraceChannel<ClientTraceEvent>(terseClient);
  /** The drivers' tracer (core's `SessionTracer`), publishing on {@link client}. */
  readonly tracer: SessionTracer = new HubTracer(this.client, {});
}
