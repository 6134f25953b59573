import type { EgressPathConfig, PolicyHost, QueueNameParts } from '@sterna/core';
import { spoolIdTime } from '@sterna/core/engine';
import {
  configTableKey,
  type MessageSnapshot,
  type PolicyRuntime,
  parseEgressPath,
  parseEgressPool,
  parseEgressSource,
  parseQueueConfig,
} from '@sterna/lua';
import type {
  EgressPoolConfig,
  EgressSourceConfig,
  EnginePolicy,
  EngineQueueConfig,
  QueuedMessage,
} from '../queue/types.js';
import { SharedValues } from './shared-values.js';
import type { PolicyMessage, ReceptionPolicy } from './types.js';

/**
 * The daemon's view of the operator's Lua policy: the events listeners and queues fire, with
 * KumoMTA's defaults where the policy binds no handler.
 */
export class LuaPolicy implements ReceptionPolicy, EnginePolicy {
  readonly #runtime: PolicyRuntime;
  // Equal answers kept as one object each (shared-values.ts).
  readonly #queueConfigs = new SharedValues<EngineQueueConfig>();
  readonly #egressPaths = new SharedValues<EgressPathConfig>();

  constructor(runtime: PolicyRuntime) {
    this.#runtime = runtime;
  }

  get host(): PolicyHost {
    return this.#runtime;
  }

  hasEvent(event: string): boolean {
    return this.#runtime.hasEvent(event);
  }

  async call(event: string, args: readonly unknown[]): Promise<unknown> {
    return (await this.#runtime.call(event, args)).value;
  }

  async callWithMessage(event: string, message: PolicyMessage, args: readonly unknown[]) {
    const snapshot: MessageSnapshot = message;
    const result = await this.#runtime.call(event, [snapshot, ...args]);
    return { result: result.value, message: result.messages[0] ?? message };
  }

  async queueConfig(_queue: string, parts: QueueNameParts): Promise<EngineQueueConfig> {
    const table = this.hasEvent('get_queue_config')
      ? await this.call('get_queue_config', [
          parts.domain,
          parts.tenant,
          parts.campaign,
          parts.routingDomain,
        ])
      : undefined;
    const raw = table ?? {};
    return this.#queueConfigs.parse(raw, engineQueueConfig, configTableKey);
  }

  throttleInsertReadyQueue(
    message: QueuedMessage,
    read: () => Promise<Uint8Array>,
  ): Promise<number | undefined> | undefined {
    if (!this.hasEvent('throttle_insert_ready_queue')) return undefined;
    return (async () => {
      const { message: after } = await this.callWithMessage(
        'throttle_insert_ready_queue',
        this.#snapshot(message, await read()),
        [],
      );
      return typeof after.due === 'number' ? after.due : undefined;
    })();
  }

  async rebindMessage(
    message: QueuedMessage,
    data: Readonly<Record<string, string>>,
    bytes: Uint8Array,
  ): Promise<Pick<QueuedMessage, 'sender' | 'recipients' | 'meta'>> {
    const { message: after } = await this.callWithMessage(
      'rebind_message',
      this.#snapshot(message, bytes),
      [data],
    );
    return { sender: after.sender, recipients: [...after.recipients], meta: { ...after.meta } };
  }

  async egressPath(
    routingDomain: string,
    source: string,
    siteName: string,
  ): Promise<EgressPathConfig> {
    const table = this.hasEvent('get_egress_path_config')
      ? await this.call('get_egress_path_config', [routingDomain, source, siteName])
      : undefined;
    const raw = table ?? {};
    return this.#egressPaths.parse(raw, parseEgressPath, configTableKey);
  }

  async egressPool(name: string): Promise<EgressPoolConfig> {
    return parseEgressPool(await this.#describe('get_egress_pool', name));
  }

  async egressSource(name: string): Promise<EgressSourceConfig> {
    return parseEgressSource(await this.#describe('get_egress_source', name));
  }

  // A queued message as the policy sees it.
  #snapshot(message: QueuedMessage, data: Uint8Array): PolicyMessage {
    return {
      id: message.id,
      sender: message.sender,
      recipients: message.recipients,
      meta: message.meta,
      data,
      queue: message.queue,
      num_attempts: message.num_attempts,
      created: spoolIdTime(message.id),
    };
  }

  // A pool or source the policy must describe: no handler, or nil, is a mistake to report.
  async #describe(event: string, name: string): Promise<unknown> {
    if (!this.hasEvent(event)) throw new Error(`the policy defines no ${event} handler`);
    const table = await this.call(event, [name]);
    if (table === undefined || table === null) throw new Error(`${event} returned nil`);
    return table;
  }
}

/** A `get_queue_config` answer as the engine keeps it: the keys it acts on, defaults applied. */
function engineQueueConfig(raw: unknown): EngineQueueConfig {
  const config = parseQueueConfig(raw);
  return {
    retry_interval: config.retry_interval,
    max_retry_interval: config.max_retry_interval,
    max_age: config.max_age,
    protocol: config.protocol,
    egress_pool: config.egress_pool,
    refresh_interval: config.refresh_interval,
    provider_name: config.provider_name,
    max_message_rate: config.max_message_rate,
  };
}
