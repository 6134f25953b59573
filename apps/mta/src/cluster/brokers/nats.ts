import type { JetStreamClient } from '@nats-io/jetstream';
import type { MsgHdrs, NatsConnection, NodeConnectionOptions } from '@nats-io/transport-node';
import { errorText, type Logger } from '@sterna/core';
import type { DaemonHandlers, NatsConnectParams, NatsPublishParams } from '@sterna/lua';
import { readKeySource } from '../../config/key-source.js';

// The client libraries, loaded at the first connection: a daemon that never connects to NATS
// never pays for them. Everything that needs them runs on a connection, so after that load.
interface NatsLibraries {
  readonly transport: typeof import('@nats-io/transport-node');
  readonly jetstream: typeof import('@nats-io/jetstream');
}
let libraries: NatsLibraries | undefined;
async function loadNats(): Promise<NatsLibraries> {
  libraries ??= {
    transport: await import('@nats-io/transport-node'),
    jetstream: await import('@nats-io/jetstream'),
  };
  return libraries;
}
function loadedNats(): NatsLibraries {
  if (libraries === undefined) throw new Error('the NATS client is used before any connection');
  return libraries;
}

// The pause between attempts of a connection made in the background
// (`retry_on_initial_connect`); the client library's own pause between reconnections.
const RETRY_PAUSE_MS = 2000;

/**
 * The client library's options for KumoMTA's `kumo.nats.connect` table: `max_reconnects = 0`
 * (KumoMTA: no limit) is the library's -1; durations are seconds there and milliseconds here;
 * `ignore_discovered_servers` and `retain_servers_order` are the library's
 * `ignoreClusterUpdates` and `noRandomize`. Credentials are key sources, read here (a string
 * names a file; `{ key_data = … }` gives the value). `sender_capacity` is accepted and not acted
 * on: the library has no bounded send channel to size. `request_timeout` and
 * `retry_on_initial_connect` are Sterna's to apply (see {@link NatsClients}).
 */
export async function natsOptions(params: NatsConnectParams): Promise<NodeConnectionOptions> {
  const auth = params.auth ?? {};
  const [user, pass, token] = await Promise.all([
    readKeySource(auth.username, 'auth.username'),
    readKeySource(auth.password, 'auth.password'),
    readKeySource(auth.token, 'auth.token'),
  ]);
  if ((user === undefined) !== (pass === undefined))
    throw new Error('auth needs both username and password (or a token alone)');
  if (token !== undefined && user !== undefined)
    throw new Error('auth takes username and password, or a token, not both');
  if ((params.client_cert === undefined) !== (params.client_key === undefined))
    throw new Error('client_cert and client_key go together: give both or neither');
  const tls =
    params.tls_required ||
    params.tls_first ||
    params.certificate !== undefined ||
    params.client_cert !== undefined;
  return {
    servers: [...params.servers],
    ...(params.name !== undefined ? { name: params.name } : {}),
    ...(user !== undefined ? { user: user.trim(), pass: (pass ?? '').trim() } : {}),
    ...(token !== undefined ? { token: token.trim() } : {}),
    noEcho: params.no_echo,
    maxReconnectAttempts: params.max_reconnects === 0 ? -1 : params.max_reconnects,
    reconnectTimeWait: RETRY_PAUSE_MS,
    timeout: params.connection_timeout * 1000,
    ...(params.ping_interval !== undefined ? { pingInterval: params.ping_interval * 1000 } : {}),
    ...(params.inbox_prefix !== undefined ? { inboxPrefix: params.inbox_prefix } : {}),
    ignoreClusterUpdates: params.ignore_discovered_servers,
    noRandomize: params.retain_servers_order,
    ...(tls
      ? {
          tls: {
            ...(params.tls_first ? { handshakeFirst: true } : {}),
            ...(params.certificate !== undefined ? { caFile: params.certificate } : {}),
            ...(params.client_cert !== undefined ? { certFile: params.client_cert } : {}),
            ...(params.client_key !== undefined ? { keyFile: params.client_key } : {}),
          },
        }
      : {}),
  };
}

/** One `kumo.nats.connect` client: its connection (once made) and whether it is up now. */
interface NatsClient {
  readonly id: number;
  readonly servers: string;
  readonly requestMs: number;
  nc?: NatsConnection;
  js?: JetStreamClient;
  /** Connected now (false while the library reconnects). */
  up: boolean;
  /** Why the client can no longer publish: closed by the policy, or the library gave up. */
  ended?: string;
  /** Resolved and replaced whenever `up` or `ended` changes. */
  changed: { promise: Promise<void>; resolve: () => void };
}

const signal = (): NatsClient['changed'] => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

function setState(client: NatsClient, change: Partial<Pick<NatsClient, 'up' | 'ended'>>): void {
  Object.assign(client, change);
  const { resolve } = client.changed;
  client.changed = signal();
  resolve();
}

/**
 * `promise`, or a rejection with `what` once `ms` have passed (the promise goes on unawaited;
 * should it fail after that, the failure is already answered for).
 */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  promise.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

const seconds = (ms: number) => `${ms / 1000}s`;

/**
 * The policy's NATS clients (`kumo.nats.connect`), on the daemon's thread: one connection per
 * `connect` call, numbered for Lua. A publish never waits longer than the client's
 * `request_timeout` — for the connection to come back, then for the server's answer — and
 * fails with a text saying which; the policy decides what a failure means (a log hook's
 * `send` raising it makes the record a transient failure, retried later).
 */
export class NatsClients {
  /** The host calls these clients answer (part of the daemon's `RuntimeHost.calls`). */
  readonly calls: Pick<DaemonHandlers, 'nats_connect' | 'nats_publish' | 'nats_close'> = {
    nats_connect: (params) => this.connect(params),
    nats_publish: (id, params) => this.publish(id, params),
    nats_close: (id) => this.close(id),
  };
  readonly #log: Logger;
  readonly #clients = new Map<number, NatsClient>();
  #next = 1;
  #closing = false;

  constructor(log: Logger) {
    this.#log = log;
  }

  /**
   * Connects with KumoMTA's parameters; the client's number. Fails when no server can be
   * reached, unless `retry_on_initial_connect`: then the number comes back at once and the
   * connection is made in the background (publishes wait for it, within their time-out).
   */
  async connect(params: NatsConnectParams): Promise<number> {
    if (this.#closing) throw new Error('the daemon is stopping');
    const options = await natsOptions(params);
    const client: NatsClient = {
      id: this.#next++,
      servers: params.servers.join(', '),
      requestMs: params.request_timeout * 1000,
      up: false,
      changed: signal(),
    };
    this.#clients.set(client.id, client);
    if (params.retry_on_initial_connect) {
      void this.#connectInBackground(client, options, params.max_reconnects);
      return client.id;
    }
    try {
      const { transport } = await loadNats();
      this.#attach(client, await transport.connect(options));
    } catch (error) {
      this.#clients.delete(client.id);
      throw new Error(`cannot connect to ${client.servers}: ${errorText(error)}`);
    }
    return client.id;
  }

  /**
   * Publishes `payload` to `subject`. With `await_ack`, through JetStream: resolves when a
   * stream has stored the message (or had stored one with the same `Nats-Msg-Id` within its
   * duplicate window). Without, a core NATS publish flushed to the server.
   */
  async publish(id: number, params: NatsPublishParams): Promise<void> {
    const client = this.#client(id);
    const deadline = Date.now() + client.requestMs;
    const nc = await this.#whenUp(client, deadline);
    const left = Math.max(1, deadline - Date.now());
    const options = params.headers ? { headers: headerSet(params.headers) } : {};
    if (params.await_ack) {
      client.js ??= loadedNats().jetstream.jetstream(nc, { timeout: client.requestMs });
      try {
        await client.js.publish(params.subject, params.payload, { ...options, timeout: left });
      } catch (error) {
        throw new Error(publishFailure(error, params.subject, client));
      }
      return;
    }
    try {
      nc.publish(params.subject, params.payload, options);
      await within(
        nc.flush(),
        left,
        `not flushed to ${client.servers} within ${seconds(client.requestMs)}`,
      );
    } catch (error) {
      throw new Error(publishFailure(error, params.subject, client));
    }
  }

  /** Closes one client: what it published without an ack is flushed first (within its time-out). */
  async close(id: number): Promise<void> {
    const client = this.#clients.get(id);
    if (!client) return;
    this.#clients.delete(id);
    const wasUp = client.up;
    setState(client, { up: false, ended: 'the client is closed' });
    const nc = client.nc;
    if (!nc || nc.isClosed()) return;
    // Nothing to flush to a server that is away: closed at once rather than after the time-out.
    if (!wasUp) return nc.close();
    await within(nc.drain(), client.requestMs, 'drain timed out').catch(() => nc.close());
  }

  /** Closes every client (the daemon is stopping); later `connect` calls fail. */
  async closeAll(): Promise<void> {
    this.#closing = true;
    await Promise.allSettled([...this.#clients.keys()].map((id) => this.close(id)));
  }

  #client(id: number): NatsClient {
    const client = this.#clients.get(id);
    if (!client) throw new Error(`client ${id} is closed`);
    return client;
  }

  // Waits, until `deadline`, for the client to be connected.
  async #whenUp(client: NatsClient, deadline: number): Promise<NatsConnection> {
    for (;;) {
      if (client.ended !== undefined) throw new Error(client.ended);
      if (client.up && client.nc) return client.nc;
      const left = deadline - Date.now();
      if (left <= 0) {
        const state = client.nc
          ? 'the connection was lost and is being re-made'
          : 'not connected yet';
        throw new Error(
          `not connected to ${client.servers} within ${seconds(client.requestMs)} (${state})`,
        );
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        client.changed.promise,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, left))),
      ]);
      clearTimeout(timer);
    }
  }

  #attach(client: NatsClient, nc: NatsConnection): void {
    client.nc = nc;
    setState(client, { up: true });
    void this.#watch(client, nc);
  }

  // Follows the connection's state: publishes wait while it is being re-made, and fail once the
  // library has given up (max_reconnects).
  async #watch(client: NatsClient, nc: NatsConnection): Promise<void> {
    const fields = { client: client.id, servers: client.servers };
    const ended = nc.closed().then((error) => {
      if (client.ended === undefined) {
        const why = error ? errorText(error) : 'closed';
        this.#log.warn('nats connection closed for good', { ...fields, error: why });
        setState(client, {
          up: false,
          ended: `the connection to ${client.servers} is closed (${why}): the client must be made again`,
        });
      }
    });
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        setState(client, { up: false });
        this.#log.warn('nats connection lost; reconnecting', { ...fields, server: status.server });
      } else if (status.type === 'reconnect') {
        setState(client, { up: true });
        this.#log.info('nats connection re-made', { ...fields, server: status.server });
      }
    }
    await ended;
  }

  async #connectInBackground(
    client: NatsClient,
    options: NodeConnectionOptions,
    maxAttempts: number,
  ): Promise<void> {
    for (let attempt = 1; client.ended === undefined; attempt++) {
      try {
        const { transport } = await loadNats();
        const nc = await transport.connect(options);
        if (client.ended !== undefined) await nc.close();
        else this.#attach(client, nc);
        return;
      } catch (error) {
        if (maxAttempts > 0 && attempt >= maxAttempts) {
          setState(client, {
            ended: `cannot connect to ${client.servers}: ${errorText(error)} (${attempt} attempts)`,
          });
          return;
        }
        if (attempt === 1)
          this.#log.warn('nats connection not made yet; retrying in the background', {
            client: client.id,
            servers: client.servers,
            error: errorText(error),
          });
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        client.changed.promise,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, RETRY_PAUSE_MS))),
      ]);
      clearTimeout(timer);
    }
  }
}

// NATS headers from the policy's table: a list gives the header several values.
function headerSet(table: Readonly<Record<string, string | readonly string[]>>): MsgHdrs {
  const set = loadedNats().transport.headers();
  for (const [name, value] of Object.entries(table)) {
    for (const one of typeof value === 'string' ? [value] : value) set.append(name, one);
  }
  return set;
}

// The library's errors in words that say what to look at.
function publishFailure(error: unknown, subject: string, client: NatsClient): string {
  const name = error instanceof Error ? error.name : '';
  const cause = error instanceof Error ? (error.cause as Error | undefined) : undefined;
  if (name === 'JetStreamNotEnabled' || cause?.name === 'NoResponders')
    return `no JetStream stream takes subject '${subject}' (nothing answered the publish)`;
  if (name === 'TimeoutError')
    return `no acknowledgement from ${client.servers} within ${seconds(client.requestMs)} for subject '${subject}'`;
  if (name === 'ClosedConnectionError') return `the connection to ${client.servers} is closed`;
  if (name === 'JetStreamApiError' || name === 'JetStreamError')
    return `the server refused the message for subject '${subject}': ${errorText(error)}`;
  return errorText(error);
}
