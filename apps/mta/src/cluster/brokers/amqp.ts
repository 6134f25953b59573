import { readFileSync } from 'node:fs';
import type { Logger } from '@sterna/core';
import type { AmqpBasicPublishParams, AmqpConfirmation, AmqpPublishParams } from '@sterna/lua';
import type { ChannelModel, ConfirmChannel, Options, SocketOptions } from 'amqplib';

/** How long connecting may take unless `connect_timeout` says otherwise, ms. */
const CONNECT_MS = 5_000;
/** How long the broker may take to confirm a message unless `publish_timeout` says, ms. */
const PUBLISH_MS = 5_000;

/** How long a connection given up may take to close politely before its socket is cut, ms. */
const CLOSE_GRACE_MS = 2_000;

/** Where an {@link AmqpLink} connects, and its time limits. */
interface AmqpTarget {
  /** A URI (`kumo.amqp.build_client`) or amqplib's connection fields (`basic_publish`). */
  readonly address: string | Options.Connect;
  readonly socket: SocketOptions;
  /** The broker, for messages (no password). */
  readonly where: string;
  readonly connectMs: number;
  readonly publishMs: number;
}

/** A message as amqplib publishes it. */
interface Outgoing {
  readonly exchange: string;
  readonly routingKey: string;
  readonly content: Buffer;
  readonly options: Options.Publish;
}

/**
 * One connection to a broker with one confirm channel, opened on the first publish and again on
 * the next publish after it was lost (nothing reconnects in the background: a broker that is
 * away costs nothing until someone publishes). Publishes share the channel; each waits for the
 * broker's own confirmation, bounded by the publish time limit.
 */
class AmqpLink {
  readonly #target: AmqpTarget;
  readonly #log: Logger;
  #model: ChannelModel | undefined;
  #channel: ConfirmChannel | undefined;
  #opening: Promise<ConfirmChannel> | undefined;
  // Why the connection or channel went away, for the publishes it took down with it.
  #lost: string | undefined;
  #closed = false;

  constructor(target: AmqpTarget, log: Logger) {
    this.#target = target;
    this.#log = log;
  }

  get where(): string {
    return this.#target.where;
  }

  /** The channel, connecting first when there is none. */
  ready(): Promise<ConfirmChannel> {
    if (this.#closed) return Promise.reject(new Error('the connection is closed'));
    if (this.#channel) return Promise.resolve(this.#channel);
    this.#opening ??= this.#open().finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  /** Publishes one message: `Ack` or `Nack` as the broker confirmed it; throws when it did not. */
  async publish(message: Outgoing): Promise<AmqpConfirmation> {
    const channel = await this.ready();
    const { publishMs, where } = this.#target;
    let timer: NodeJS.Timeout | undefined;
    const confirmed = new Promise<AmqpConfirmation>((resolve, reject) => {
      try {
        channel.publish(
          message.exchange,
          message.routingKey,
          message.content,
          message.options,
          (error: Error | null | undefined) => {
            if (!error) resolve({ status: 'Ack' });
            else if (error.message === 'message nacked') resolve({ status: 'Nack' });
            else reject(new Error(this.#lost ?? error.message));
          },
        );
      } catch (error) {
        // The channel was closed under us: the next publish opens another.
        this.#forget(channel, (error as Error).message);
        reject(error);
      }
    });
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        // A broker that stopped answering: this connection is given up, the next publish
        // connects again.
        this.#drop(`no confirmation within ${publishMs / 1000} s`);
        reject(new Error(`${where} did not confirm the message within ${publishMs / 1000} s`));
      }, publishMs);
    });
    // Should the time-out win, a later failure of the publish is already answered for.
    confirmed.catch(() => undefined);
    try {
      return await Promise.race([confirmed, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    // One being opened is waited for: it is then closed with the rest.
    if (this.#opening) await this.#opening.catch(() => undefined);
    const model = this.#model;
    this.#model = undefined;
    this.#channel = undefined;
    await model?.close().catch(() => undefined);
  }

  async #open(): Promise<ConfirmChannel> {
    const { address, socket, connectMs, where } = this.#target;
    let timer: NodeJS.Timeout | undefined;
    let gaveUp = false;
    // Loaded at the first connection: a daemon that publishes nothing to AMQP never pays for it.
    const { connect } = await import('amqplib');
    const connecting = connect(address as Options.Connect, { ...socket, timeout: connectMs });
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        gaveUp = true;
        reject(new Error(`cannot connect to ${where}: no answer within ${connectMs / 1000} s`));
      }, connectMs);
    });
    let model: ChannelModel;
    try {
      model = await Promise.race([connecting, late]);
    } catch (error) {
      // A connection that succeeds after we gave up on it is closed again.
      connecting.then((m) => m.close()).catch(() => undefined);
      if (gaveUp) throw error;
      throw new Error(`cannot connect to ${where}: ${errorMessage(error)}`);
    } finally {
      clearTimeout(timer);
    }
    if (this.#closed) {
      await model.close().catch(() => undefined);
      throw new Error('the connection is closed');
    }
    model.on('error', (error: Error) => {
      if (this.#model === model) this.#lost = `connection to ${where} lost: ${error.message}`;
    });
    model.on('close', () => {
      if (this.#model !== model) return;
      this.#lost ??= `connection to ${where} closed`;
      if (!this.#closed) this.#log.warn(`amqp ${where}: ${this.#lost}`);
      this.#model = undefined;
      this.#channel = undefined;
    });
    model.on('blocked', (reason: string) => {
      this.#log.warn(`amqp ${where}: the broker blocks publishing (${reason})`);
    });
    let channel: ConfirmChannel;
    try {
      channel = await model.createConfirmChannel();
    } catch (error) {
      await model.close().catch(() => undefined);
      throw new Error(`cannot open a channel on ${where}: ${errorMessage(error)}`);
    }
    channel.on('error', (error: Error) => {
      if (this.#channel === channel) this.#lost = `channel to ${where} closed: ${error.message}`;
    });
    channel.on('close', () => this.#forget(channel, `channel to ${where} closed`));
    channel.on('return', (returned: { fields: { exchange: string; routingKey: string } }) => {
      const { exchange, routingKey } = returned.fields;
      this.#log.warn(
        `amqp ${where}: the broker returned a mandatory message it could not route (exchange '${exchange}', routing key '${routingKey}')`,
      );
    });
    this.#model = model;
    this.#channel = channel;
    this.#lost = undefined;
    return channel;
  }

  // The channel is gone (its connection may live on): the next publish opens another.
  #forget(channel: ConfirmChannel, why: string): void {
    if (this.#channel !== channel) return;
    this.#lost ??= why;
    this.#channel = undefined;
    // A closed channel on a live connection: the connection is dropped too, so the next publish
    // starts clean rather than reusing a connection in an unknown state.
    this.#drop(why);
  }

  #drop(why: string): void {
    const model = this.#model;
    this.#lost ??= why;
    this.#model = undefined;
    this.#channel = undefined;
    if (model) closeWithin(model, CLOSE_GRACE_MS);
  }
}

/**
 * The AMQP side of a policy: `kumo.amqp.build_client(uri)` clients (one connection per URI,
 * shared by the clients open on it and closed when the last of them is) and
 * `kumo.amqp.basic_publish` (one connection per distinct `connection` table, kept until the
 * daemon stops). Publisher confirms are always on, so a publish answers only once the broker
 * has the message.
 */
export class AmqpPublishers {
  readonly #log: Logger;
  readonly #byUri = new Map<string, { link: AmqpLink; clients: number }>();
  readonly #clients = new Map<number, string>();
  readonly #pooled = new Map<string, AmqpLink>();
  #nextClient = 1;
  #closed = false;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** `kumo.amqp.build_client(uri)`: connects (or shares the URI's connection); the client's number. */
  async buildClient(uri: string): Promise<number> {
    if (this.#closed) throw new Error('the daemon is stopping');
    if (!/^amqps?:\/\//.test(uri)) {
      throw new Error(
        `'${redactUri(uri)}' is not an AMQP URI (amqp://user:password@host:port/vhost or amqps://…)`,
      );
    }
    let shared = this.#byUri.get(uri);
    if (!shared) {
      const target: AmqpTarget = {
        address: uri,
        socket: {},
        where: redactUri(uri),
        connectMs: CONNECT_MS,
        publishMs: PUBLISH_MS,
      };
      shared = { link: new AmqpLink(target, this.#log), clients: 0 };
      this.#byUri.set(uri, shared);
    }
    shared.clients++;
    const id = this.#nextClient++;
    this.#clients.set(id, uri);
    try {
      await shared.link.ready();
    } catch (error) {
      await this.closeClient(id);
      throw error;
    }
    return id;
  }

  /** `client:publish{…}`: the broker's confirmation. */
  async publish(client: number, params: AmqpPublishParams): Promise<AmqpConfirmation> {
    const uri = this.#clients.get(client);
    const shared = uri === undefined ? undefined : this.#byUri.get(uri);
    if (!shared) throw new Error('the client is closed');
    const { properties = {}, options } = params;
    return shared.link.publish({
      exchange: params.exchange,
      routingKey: params.routing_key,
      content: Buffer.from(params.payload),
      options: publishOptions(
        { ...properties, message_type: properties.message_type ?? properties.kind },
        options?.mandatory ?? false,
        options?.immediate ?? false,
      ),
    });
  }

  /** `client:close()`: the URI's connection is closed once no client uses it. */
  async closeClient(client: number): Promise<void> {
    const uri = this.#clients.get(client);
    if (uri === undefined) throw new Error('the client is already closed');
    this.#clients.delete(client);
    const shared = this.#byUri.get(uri);
    if (!shared) return;
    shared.clients--;
    if (shared.clients > 0) return;
    this.#byUri.delete(uri);
    await shared.link.close();
  }

  /** `kumo.amqp.basic_publish{…}`: resolves once the broker confirmed; throws otherwise. */
  async basicPublish(params: AmqpBasicPublishParams): Promise<void> {
    if (this.#closed) throw new Error('the daemon is stopping');
    const key = JSON.stringify(params.connection);
    let link = this.#pooled.get(key);
    if (!link) {
      link = new AmqpLink(connectionTarget(params.connection), this.#log);
      this.#pooled.set(key, link);
    }
    const confirmation = await link.publish({
      exchange: params.exchange,
      routingKey: params.routing_key,
      content: Buffer.from(params.payload),
      options: publishOptions(params, params.mandatory, params.immediate),
    });
    if (confirmation.status !== 'Ack') throw new Error(`${link.where} refused the message (Nack)`);
  }

  /** Closes every connection (at daemon stop). */
  async close(): Promise<void> {
    this.#closed = true;
    const links = [
      ...[...this.#byUri.values()].map((shared) => shared.link),
      ...this.#pooled.values(),
    ];
    this.#byUri.clear();
    this.#clients.clear();
    this.#pooled.clear();
    await Promise.allSettled(links.map((link) => link.close()));
  }
}

type Properties = Partial<
  Pick<
    AmqpBasicPublishParams,
    | 'app_id'
    | 'content_encoding'
    | 'content_type'
    | 'correlation_id'
    | 'delivery_mode'
    | 'expiration'
    | 'headers'
    | 'message_id'
    | 'message_type'
    | 'priority'
    | 'reply_to'
    | 'timestamp'
    | 'user_id'
  >
>;

// KumoMTA's property names → amqplib's. cluster_id is accepted and not sent: AMQP 0-9-1
// deprecated it and amqplib does not write it.
function publishOptions(p: Properties, mandatory: boolean, immediate: boolean): Options.Publish {
  if (immediate) {
    throw new Error('immediate = true is not supported: RabbitMQ refuses such publishes');
  }
  const options: Options.Publish = {
    appId: p.app_id,
    contentEncoding: p.content_encoding,
    contentType: p.content_type,
    correlationId: p.correlation_id,
    deliveryMode: p.delivery_mode,
    expiration: p.expiration,
    headers: p.headers,
    messageId: p.message_id,
    type: p.message_type,
    priority: p.priority,
    replyTo: p.reply_to,
    timestamp: p.timestamp,
    userId: p.user_id,
    mandatory,
  };
  for (const key of Object.keys(options) as (keyof Options.Publish)[]) {
    if (options[key] === undefined) delete options[key];
  }
  return options;
}

// basic_publish's `connection` table → amqplib's connection fields and socket options.
function connectionTarget(c: AmqpBasicPublishParams['connection']): AmqpTarget {
  const socket: SocketOptions = {};
  if (c.connection_name !== undefined)
    socket.clientProperties = { connection_name: c.connection_name };
  if (c.enable_tls) {
    if (c.root_ca_cert !== undefined) socket.ca = readPem(c.root_ca_cert, 'root_ca_cert');
    if (c.client_cert !== undefined) socket.cert = readPem(c.client_cert, 'client_cert');
    if (c.client_private_key !== undefined)
      socket.key = readPem(c.client_private_key, 'client_private_key');
  }
  const port = c.port ?? (c.enable_tls ? 5671 : 5672);
  return {
    address: {
      protocol: c.enable_tls ? 'amqps' : 'amqp',
      hostname: c.host,
      port,
      username: c.username,
      password: c.password,
      vhost: c.vhost,
      heartbeat: c.heartbeat,
    },
    socket,
    where: `${c.enable_tls ? 'amqps' : 'amqp'}://${c.host}:${port}${c.vhost ? `/${c.vhost}` : ''}`,
    connectMs: c.connect_timeout !== undefined ? c.connect_timeout * 1000 : CONNECT_MS,
    publishMs: c.publish_timeout !== undefined ? c.publish_timeout * 1000 : PUBLISH_MS,
  };
}

// Closes a connection; one whose broker does not answer the close (the reason it is given up,
// often) has its socket destroyed after `graceMs` so it does not linger.
function closeWithin(model: ChannelModel, graceMs: number): void {
  const cut = setTimeout(() => {
    // amqplib's connection keeps its socket as `stream` (not in its declared types).
    const connection = model.connection as unknown as { stream?: { destroy(): void } };
    connection.stream?.destroy();
  }, graceMs);
  cut.unref();
  model.close().then(
    () => clearTimeout(cut),
    () => clearTimeout(cut),
  );
}

function readPem(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`connection.${key}: cannot read '${path}': ${errorMessage(error)}`);
  }
}

// A URI without its password, for messages and logs.
function redactUri(uri: string): string {
  return uri.replace(/^(amqps?:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
