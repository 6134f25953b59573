import type { Logger } from '@sterna/core';
import type { DaemonHandlers } from '@sterna/lua';
import type { Closable } from '../daemon/boot/parts.js';
import { NatsClients } from './brokers/nats.js';

/**
 * The connections a policy opens to other servers — `kumo.redis.open`, `kumo.amqp`,
 * `kumo.nats` — held on the daemon's thread, where their host calls are answered, and closed
 * when the daemon stops.
 */
export class PolicyServices implements Closable {
  /** The host calls these services answer (given to the runtime as `RuntimeHost.calls`). */
  readonly calls: Partial<DaemonHandlers> = {};
  readonly #log: Logger;
  readonly #nats: NatsClients;

  constructor(log: Logger) {
    this.#log = log;
    this.#nats = new NatsClients(log);
    Object.assign(this.calls, this.#nats.calls);
  }

  async close(): Promise<void> {
    await this.#nats.closeAll();
  }
}
