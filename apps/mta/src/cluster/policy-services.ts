import type { Logger } from '@sterna/core';
import type { DaemonHandlers } from '@sterna/lua';
import type { Closable } from '../daemon/boot/parts.js';
import { AmqpPublishers } from './brokers/amqp.js';
import { NatsClients } from './brokers/nats.js';
import { PolicyRedis } from './policy-redis.js';

/**
 * The connections a policy opens to other servers — `kumo.redis.open`, `kumo.amqp`,
 * `kumo.nats` — held on the daemon's thread, where their host calls are answered, and closed
 * when the daemon stops.
 */
export class PolicyServices implements Closable {
  /** The host calls these services answer (given to the runtime as `RuntimeHost.calls`). */
  readonly calls: Partial<DaemonHandlers> = {};
  readonly #nats: NatsClients;
  readonly #redis: PolicyRedis;
  readonly #amqp: AmqpPublishers;

  constructor(log: Logger) {
    const nats = new NatsClients(log);
    const redis = new PolicyRedis(log);
    const amqp = new AmqpPublishers(log);
    this.#nats = nats;
    this.#redis = redis;
    this.#amqp = amqp;
    Object.assign(this.calls, nats.calls, {
      redis_open: async (params) => redis.open(params),
      redis_query: (conn, command, args) => redis.query(conn, command, args),
      amqp_build_client: (uri) => amqp.buildClient(uri),
      amqp_publish: (client, params) => amqp.publish(client, params),
      amqp_close: (client) => amqp.closeClient(client),
      amqp_basic_publish: (params) => amqp.basicPublish(params),
    } satisfies Partial<DaemonHandlers>);
  }

  async close(): Promise<void> {
    await this.#nats.closeAll();
    await Promise.all([this.#redis.close(), this.#amqp.close()]);
  }
}
