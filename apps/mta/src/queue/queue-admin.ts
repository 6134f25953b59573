import { makeResponse } from '@sterna/core';
import { DEFAULT_RETRY_POLICY } from '@sterna/core/engine';
import { RuleSet, selects } from './admin-rules.js';
import type {
  AdminApi,
  AdminRule,
  BounceRequest,
  InspectedMessage,
  QueueView,
  ReadyQueueSuspension,
  RebindRequest,
  SuspendReadyQueueRequest,
  SuspendRequest,
} from './admin-types.js';
import { type Dispositions, scheduledAttempt } from './disposition.js';
import type { EngineCounters, EngineDeps, QueuedMessage } from './types.js';

/** What the admin operations need from the queue engine: the messages it holds. */
export interface AdminQueues {
  /** Takes the waiting messages `pick` selects out of the scheduled and ready queues. */
  takeWhere(pick: (message: QueuedMessage) => boolean): QueuedMessage[];
  /** The message with this id, wherever it is: scheduled, ready or in an attempt. */
  find(id: string): QueuedMessage | undefined;
  /** Told when a message has left the spool. */
  removed(id: string): void;
  /** Work the engine waits for before it stops. */
  track(work: Promise<void>): void;
}

/** A live bounce rule, as the engine checks it when it promotes a message. */
export interface BounceRule {
  readonly reason: string;
  readonly suppressLogging: boolean;
}

/**
 * KumoMTA's admin operations on the queues: bounce rules (matching messages are bounced now and
 * for the rule's duration), suspensions (matching scheduled queues hold their mail), and
 * inspecting a queued message. The engine asks {@link QueueAdmin.bounceRuleFor} and
 * {@link QueueAdmin.suspensionFor} as each message becomes due.
 */
export class QueueAdmin implements AdminApi {
  readonly #queues: AdminQueues;
  readonly #deps: EngineDeps;
  readonly #dispositions: Dispositions;
  readonly #counters: EngineCounters;
  readonly #bounces: RuleSet;
  readonly #suspensions: RuleSet;

  constructor(
    queues: AdminQueues,
    deps: EngineDeps,
    dispositions: Dispositions,
    counters: EngineCounters,
  ) {
    const now = deps.now ?? Date.now;
    this.#queues = queues;
    this.#deps = deps;
    this.#dispositions = dispositions;
    this.#counters = counters;
    this.#bounces = new RuleSet(now);
    this.#suspensions = new RuleSet(now);
  }

  bounce(request: BounceRequest): {
    id: string;
    bounced: Record<string, number>;
    total_bounced: number;
  } {
    const rule = this.#bounces.add(
      request,
      request.reason,
      request.duration ?? 300,
      request.suppress_logging ?? false,
    );
    const bounced: Record<string, number> = {};
    const victims = this.#queues.takeWhere((m) => selects(request, m.queue));
    for (const message of victims) {
      bounced[message.queue] = (bounced[message.queue] ?? 0) + 1;
      this.#queues.track(this.bounceMessage(message, rule));
    }
    return { id: rule.id, bounced, total_bounced: victims.length };
  }

  listBounces(): AdminRule[] {
    return this.#bounces.list();
  }

  cancelBounce(id: string): boolean {
    return this.#bounces.cancel(id);
  }

  suspend(request: SuspendRequest): { id: string } {
    return { id: this.#suspensions.add(request, request.reason, request.duration ?? 300).id };
  }

  listSuspensions(): AdminRule[] {
    return this.#suspensions.list();
  }

  cancelSuspension(id: string): boolean {
    return this.#suspensions.cancel(id);
  }

  async inspectMessage(id: string, wantBody: boolean): Promise<InspectedMessage | undefined> {
    const message = this.#queues.find(id);
    if (!message) return undefined;
    const data = wantBody
      ? Buffer.from(await this.#deps.spool.read(id)).toString('utf8')
      : undefined;
    return {
      id,
      message: {
        sender: message.sender,
        recipient: message.recipients.length === 1 ? message.recipients[0]! : message.recipients,
        meta: message.meta,
        ...(data !== undefined ? { data } : {}),
        due: new Date(message.due).toISOString(),
        num_attempts: message.num_attempts,
      },
    };
  }

  get view(): QueueView {
    throw new Error('not implemented yet');
  }

  suspendReadyQueue(_request: SuspendReadyQueueRequest): { id: string } {
    throw new Error('not implemented yet');
  }

  listReadyQueueSuspensions(): ReadyQueueSuspension[] {
    throw new Error('not implemented yet');
  }

  cancelReadyQueueSuspension(_id: string): boolean {
    throw new Error('not implemented yet');
  }

  rebind(_request: RebindRequest): Promise<{ rebound: number }> {
    throw new Error('not implemented yet');
  }

  /** The first live bounce rule matching a scheduled queue. */
  bounceRuleFor(queue: string): BounceRule | undefined {
    return this.#bounces.match(queue);
  }

  /** The first live suspension matching a scheduled queue. */
  suspensionFor(queue: string): { readonly reason: string } | undefined {
    return this.#suspensions.match(queue);
  }

  /**
   * Bounces a message on the administrator's word: an `AdminBounce` record (unless the rule
   * suppresses logging) with KumoMTA's 551 5.7.1 text, counted, and removed from the spool.
   */
  async bounceMessage(message: QueuedMessage, rule: BounceRule): Promise<void> {
    const response = makeResponse(551, `Administrator bounced with reason: ${rule.reason}`, {
      enhanced: { class: 5, subject: 7, detail: 1 },
    });
    if (!rule.suppressLogging)
      this.#dispositions.log(
        'AdminBounce',
        message,
        message.recipients,
        { response },
        { ...scheduledAttempt(DEFAULT_RETRY_POLICY), site: 'localhost' },
      );
    this.#counters.bounced += message.recipients.length;
    await this.#deps.spool.remove(message.id);
    this.#queues.removed(message.id);
  }
}
