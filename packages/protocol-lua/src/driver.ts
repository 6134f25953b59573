import {
  type Connection,
  type DeliveryFailure,
  type DriverContext,
  defineProtocolDriver,
  errorText,
  internalFailure,
  type Message,
  type Outcome,
  type PeerAddress,
  type PolicyObject,
  type SendOptions,
} from '@sterna/core';
import { type CustomLuaOptions, customLuaOptionsSchema } from './options.js';
import { outcomesFor, verdictOf } from './outcomes.js';

/** What `site()` hands to `connect()`: the constructor and its arguments. */
interface LuaPlan {
  readonly event: string;
  readonly domain: string;
  readonly tenant: string | undefined;
  readonly campaign: string | undefined;
}

const peerOf = (event: string): PeerAddress => ({
  name: `Lua via ${event}`,
  addr: '0.0.0.0',
});

/**
 * A connection made by the policy's constructor event, reused for every message of the
 * session, closed (calling the object's `close`, if any) when the session ends.
 */
class LuaConnection implements Connection {
  readonly #object: PolicyObject;
  readonly #event: string;
  readonly #ctx: DriverContext;
  #usable = true;
  #closing: Promise<void> | undefined;

  constructor(object: PolicyObject, event: string, ctx: DriverContext) {
    this.#object = object;
    this.#event = event;
    this.#ctx = ctx;
  }

  isUsable(): boolean {
    return this.#usable && !this.#closing;
  }

  async send(message: Message, options: SendOptions): Promise<Outcome[]> {
    const [outcomes] = await this.#deliver('send', [message], options, [message]);
    return outcomes ?? [];
  }

  sendBatch(messages: readonly Message[], options: SendOptions): Promise<Outcome[][]> {
    return this.#deliver('send_batch', [[...messages]], options, messages);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        if (this.#object.has('close')) await this.#object.call('close', []);
      } catch (error) {
        this.#ctx.logger.warn(`close of the ${this.#event} connection failed`, {
          error: errorText(error),
        });
      } finally {
        await this.#object.release();
      }
    })();
    return this.#closing;
  }

  // One call; its verdict is applied to every recipient of every message it carried.
  async #deliver(
    method: 'send' | 'send_batch',
    args: unknown[],
    options: SendOptions,
    messages: readonly Message[],
  ): Promise<Outcome[][]> {
    if (this.#closing) throw new Error(`the ${this.#event} connection is closed`);
    if (options.signal.aborted) {
      const failure = internalFailure(`delivery aborted: ${errorText(options.signal.reason)}`);
      return messages.map((m) => m.recipients.map((recipient) => ({ recipient, ...failure })));
    }
    let result: { value: unknown } | { error: unknown };
    if (!this.#object.has(method)) {
      result = { error: new Error(`the connection object has no ${method} method`) };
    } else {
      try {
        result = { value: await this.#object.call(method, args, { signal: options.signal }) };
      } catch (error) {
        result = { error };
      }
    }
    const verdict = verdictOf(result, method, peerOf(this.#event));
    if (verdict.closes) this.#usable = false;
    return messages.map((m) => outcomesFor(m.recipients, verdict));
  }
}

/**
 * The `custom_lua` protocol: delivery written in the operator's Lua policy. The constructor event
 * named in the options is called once per connection session with `(domain, tenant, campaign)`
 * and returns an object whose `send(message)` (or `send_batch(messages)`) returns a disposition
 * string, or raises `kumo.reject(code, text)`.
 */
export const customLuaDriver = defineProtocolDriver<CustomLuaOptions>({
  protocol: 'custom_lua',
  deliveryProtocol: 'Lua',
  packageName: '@sterna/protocol-lua',
  options: customLuaOptionsSchema,
  // One verdict per send, as in KumoMTA: per-recipient answers are for SMTP and Maildir.
  capabilities: {
    reusesConnections: true,
    multiRecipient: false,
    batching: true,
    readyQueue: true,
  },

  site(options, target, ctx) {
    const {
      constructor: event,
      batch_size,
      min_batch_size,
      max_batch_latency,
    } = options.custom_lua;
    if (!ctx.policy) {
      return {
        failure: internalFailure(
          'failed to connect to any candidate hosts: custom_lua needs a Lua policy, and none is running',
        ),
      };
    }
    if (!ctx.policy.hasEvent(event)) {
      return {
        failure: internalFailure(
          `failed to connect to any candidate hosts: the policy has no handler for the constructor event '${event}' (bind one with kumo.on('${event}', function(domain, tenant, campaign) … end))`,
        ),
      };
    }
    const domain = target.routingDomain ?? target.domain;
    const plan: LuaPlan = { event, domain, tenant: target.tenant, campaign: target.campaign };
    return {
      site: {
        name: domain,
        service: `lua:${event}`,
        plan,
        ...(batch_size > 1
          ? {
              batch: {
                maxSize: batch_size,
                minSize: min_batch_size,
                maxLatency: max_batch_latency,
              },
            }
          : {}),
      },
    };
  },

  async connect(site, _options, ctx): Promise<Connection | DeliveryFailure> {
    const plan = site.plan as LuaPlan;
    if (!ctx.policy)
      return internalFailure('failed to connect to any candidate hosts: no Lua policy is running');
    try {
      const object = await ctx.policy.construct(plan.event, [
        plan.domain,
        plan.tenant,
        plan.campaign,
      ]);
      return new LuaConnection(object, plan.event, ctx);
    } catch (error) {
      return internalFailure(
        `failed to connect to any candidate hosts: ${plan.event}: ${errorText(error)}`,
      );
    }
  },
});
