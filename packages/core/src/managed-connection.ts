import type { DriverContext } from './context.js';
import type { AnyProtocolDriver, Connection, SendOptions, Site } from './driver.js';
import { DEFAULT_EGRESS_PATH, type EgressPathConfig } from './egress-path.js';
import { type EgressSource, UNSPECIFIED_EGRESS_SOURCE } from './egress-source.js';
import { errorText, SternaError } from './errors.js';
import type { Message } from './message.js';
import { type DeliveryFailure, failAll, isDeliveryFailure, type Outcome } from './outcome.js';
import { makeResponse } from './response.js';

/**
 * A driver's connection with the lifecycle guaranteed by core: a throw becomes a transient
 * failure (never a crash, never a lost message), every recipient gets exactly one outcome,
 * `close` runs the driver's close once, and nothing is sent after close.
 */
export class ManagedConnection {
  readonly driver: AnyProtocolDriver;
  readonly site: Site;
  readonly #inner: Connection;
  readonly #ctx: DriverContext;
  #closing: Promise<void> | undefined;
  #broken = false;
  #sent = 0;

  constructor(driver: AnyProtocolDriver, site: Site, inner: Connection, ctx: DriverContext) {
    this.driver = driver;
    this.site = site;
    this.#inner = inner;
    this.#ctx = ctx;
  }

  /** Messages this connection has been given. */
  get sent(): number {
    return this.#sent;
  }

  /** False after close, after a throw, or when the driver says so. */
  isUsable(): boolean {
    if (this.#closing || this.#broken) return false;
    try {
      return this.#inner.isUsable?.() ?? true;
    } catch {
      return false;
    }
  }

  /** Delivers one message. Never rejects except for use after close (a caller bug). */
  async send(message: Message, options: SendOptions): Promise<Outcome[]> {
    this.#assertOpen();
    this.#sent++;
    let outcomes: Outcome[];
    try {
      outcomes = await this.#inner.send(message, options);
    } catch (error) {
      this.#broken = true;
      this.#ctx.logger.warn('driver send threw', {
        protocol: this.driver.protocol,
        error: errorText(error),
      });
      return failAll(
        message.recipients,
        internalFailure(`error in deliver_message: ${errorText(error)}`),
      );
    }
    return reconcile(message.recipients, outcomes, this.driver.protocol);
  }

  /** Delivers several messages in one call where the driver supports it, else one by one. */
  async sendBatch(messages: readonly Message[], options: SendOptions): Promise<Outcome[][]> {
    this.#assertOpen();
    if (!this.#inner.sendBatch) {
      const results: Outcome[][] = [];
      for (const message of messages) results.push(await this.send(message, options));
      return results;
    }
    this.#sent += messages.length;
    try {
      const results = await this.#inner.sendBatch(messages, options);
      return messages.map((m, i) =>
        reconcile(m.recipients, results[i] ?? [], this.driver.protocol),
      );
    } catch (error) {
      this.#broken = true;
      const failure = internalFailure(`error in deliver_message: ${errorText(error)}`);
      return messages.map((m) => failAll(m.recipients, failure));
    }
  }

  /** Closes once; later calls wait for the same close. Errors from the driver are logged. */
  close(): Promise<void> {
    this.#closing ??= this.#inner.close().catch((error: unknown) => {
      this.#ctx.logger.warn('driver close failed', {
        protocol: this.driver.protocol,
        error: errorText(error),
      });
    });
    return this.#closing;
  }

  #assertOpen(): void {
    if (this.#closing) {
      throw new SternaError(
        'STERNA_CONNECTION_CLOSED',
        `connection to ${this.site.name || this.driver.protocol} was used after close()`,
      );
    }
  }
}

/** A transient failure with KumoMTA's "internal" wording. */
export function internalFailure(text: string, code = 400): DeliveryFailure {
  return {
    kind: 'transient',
    response: makeResponse(code, `KumoMTA internal: ${text}`, { enhanced: null }),
  };
}

// One outcome per recipient: missing ones become transient failures, extras and duplicates are dropped.
function reconcile(
  recipients: readonly string[],
  outcomes: readonly Outcome[],
  protocol: string,
): Outcome[] {
  const byRecipient = new Map<string, Outcome>();
  for (const outcome of Array.isArray(outcomes) ? outcomes : []) {
    if (outcome && recipients.includes(outcome.recipient) && !byRecipient.has(outcome.recipient)) {
      byRecipient.set(outcome.recipient, outcome);
    }
  }
  return recipients.map(
    (recipient) =>
      byRecipient.get(recipient) ?? {
        recipient,
        ...internalFailure(`driver '${protocol}' returned no outcome for ${recipient}`),
      },
  );
}

/**
 * Opens a connection through a driver. A throw from the driver becomes a transient failure with
 * KumoMTA's wording; a failure the driver returns (e.g. a prohibited host) is passed on.
 */
export async function openConnection(
  driver: AnyProtocolDriver,
  site: Site,
  options: unknown,
  ctx: DriverContext,
  path: EgressPathConfig = DEFAULT_EGRESS_PATH,
  source: EgressSource = UNSPECIFIED_EGRESS_SOURCE,
): Promise<ManagedConnection | DeliveryFailure> {
  try {
    const result = await driver.connect(site, options, ctx, path, source);
    if (isDeliveryFailure(result)) return result;
    if (typeof result?.send !== 'function' || typeof result.close !== 'function') {
      return internalFailure(
        `failed to connect to any candidate hosts: driver '${driver.protocol}' returned no connection`,
      );
    }
    return new ManagedConnection(driver, site, result, ctx);
  } catch (error) {
    return internalFailure(`failed to connect to any candidate hosts: ${errorText(error)}`);
  }
}
