import { errorText, makeResponse } from '@sterna/core';
import { DEFAULT_RETRY_POLICY } from '@sterna/core/engine';
import { queueOf } from '../reception/receiver.js';
import { type Rule, RuleSet, type SharedLever, type SharedLevers, selects } from './admin-rules.js';
import type {
  AdminApi,
  AdminRule,
  BounceRequest,
  InspectedMessage,
  PathOverrideEntry,
  QueueView,
  ReadyQueueSuspension,
  RebindRequest,
  SuspendReadyQueueRequest,
  SuspendRequest,
} from './admin-types.js';
import { type Dispositions, scheduledAttempt, toSpoolEntry } from './disposition.js';
import type { PathOverrides, ReadyQueueSuspensions } from './shaping.js';
import type { ShapingSnapshot } from './shaping-state.js';
import type { EngineCounters, EngineDeps, QueuedMessage } from './types.js';

/** Messages a rebind works on at once (their spool updates share the log's commits). */
export const REBIND_CONCURRENCY = 256;

/** What the admin operations need from the queue engine: the messages it holds. */
export interface AdminQueues {
  /** Takes the waiting messages `pick` selects out of the scheduled and ready queues. */
  takeWhere(pick: (message: QueuedMessage) => boolean): QueuedMessage[];
  /** The same, out of the scheduled queues only (rebind works on scheduled queues). */
  takeScheduledWhere(pick: (message: QueuedMessage) => boolean): QueuedMessage[];
  /** Queues a message for its due time. */
  schedule(message: QueuedMessage): void;
  /** Told when a rule was added or cancelled (the state file is written again). */
  changed(): void;
  /** Told when a scheduled-queue suspension was cancelled: its held messages go now. */
  suspensionLifted(id: string): void;
  readonly readySuspensions: ReadyQueueSuspensions;
  readonly overrides: PathOverrides;
  readonly view: QueueView;
  /** The message with this id, wherever it is: scheduled, ready or in an attempt. */
  find(id: string): QueuedMessage | undefined;
  /** Told when a message has left the spool. */
  removed(id: string): void;
  /** Work the engine waits for before it stops. */
  track(work: Promise<void>): void;
}

/** The kinds of lever the fleet shares, as named in redis and in its events. */
export const LEVER_KINDS = ['suspend', 'bounce', 'ready-suspend', 'override'] as const;

/** One kind of shared lever. */
export type LeverKind = (typeof LEVER_KINDS)[number];

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
  readonly #now: () => number;

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
    this.#now = now;
    // A bounce rule made on another node bounces what this node holds (its AdminBounce
    // records are written here); a suspension cancelled there releases what it held here.
    this.#bounces = new RuleSet(now, queues.changed, { applied: (rule) => this.#sweep(rule) });
    this.#suspensions = new RuleSet(now, queues.changed, {
      dropped: (id) => queues.suspensionLifted(id),
    });
  }

  /** Every kind of lever, for sharing them with the fleet. */
  get levers(): Readonly<Record<LeverKind, SharedLevers<SharedLever>>> {
    return {
      suspend: this.#suspensions,
      bounce: this.#bounces,
      'ready-suspend': this.#queues.readySuspensions,
      override: this.#queues.overrides,
    };
  }

  get view(): QueueView {
    return this.#queues.view;
  }

  /** The live rules, for the state file. */
  snapshot(): Pick<ShapingSnapshot, 'suspensions' | 'bounces'> {
    return { suspensions: this.#suspensions.rules(), bounces: this.#bounces.rules() };
  }

  /** Puts back the rules an earlier run kept. */
  restore(snapshot: Pick<ShapingSnapshot, 'suspensions' | 'bounces'>): void {
    for (const rule of snapshot.suspensions) this.#suspensions.restore(rule);
    for (const rule of snapshot.bounces) this.#bounces.restore(rule);
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
    const { bounced, total } = this.#sweep(rule);
    return { id: rule.id, bounced, total_bounced: total };
  }

  // Bounces the queued messages a new rule matches; counts per scheduled queue.
  #sweep(rule: Rule): { bounced: Record<string, number>; total: number } {
    const bounced: Record<string, number> = {};
    const victims = this.#queues.takeWhere((m) => selects(rule, m.queue));
    for (const message of victims) {
      bounced[message.queue] = (bounced[message.queue] ?? 0) + 1;
      this.#queues.track(this.bounceMessage(message, rule));
    }
    return { bounced, total: victims.length };
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
    if (!this.#suspensions.cancel(id)) return false;
    this.#queues.suspensionLifted(id);
    return true;
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

  suspendReadyQueue(request: SuspendReadyQueueRequest): { id: string } {
    const rule = this.#queues.readySuspensions.add(
      request.name,
      request.reason,
      request.duration ?? 300,
    );
    return { id: rule.id };
  }

  listReadyQueueSuspensions(): ReadyQueueSuspension[] {
    return this.#queues.readySuspensions.list();
  }

  cancelReadyQueueSuspension(id: string): boolean {
    return this.#queues.readySuspensions.cancel(id);
  }

  listPathOverrides(): PathOverrideEntry[] {
    const now = this.#now();
    return this.#queues.overrides.list().map((o) => ({
      id: o.id,
      scope: o.scope,
      name: o.name,
      value: o.value,
      reason: o.reason,
      duration: Math.max(0, Math.round((o.expires - now) / 1000)),
      expires: new Date(o.expires).toISOString(),
    }));
  }

  async rebind(request: RebindRequest): Promise<{ rebound: number }> {
    const victims = this.#queues.takeScheduledWhere((m) => selects(request, m.queue));
    // Several at a time: each message's spool update waits for a commit of the log, and one
    // commit makes every update then waiting durable. One at a time, a rebind of the million
    // messages an outage left waiting would take a million commits.
    let next = 0;
    const failures: unknown[] = [];
    const worker = async () => {
      while (next < victims.length) {
        const message = victims[next++]!;
        await this.#rebindOne(message, request).catch((error: unknown) => failures.push(error));
      }
    };
    await Promise.all(Array.from({ length: Math.min(REBIND_CONCURRENCY, victims.length) }, worker));
    if (failures.length > 0) throw failures[0];
    return { rebound: victims.length };
  }

  // KumoMTA's rebind: `data` into the meta (or the rebind_message event), the queue worked out
  // again; a message whose queue changed is due now and logged as AdminRebind.
  async #rebindOne(message: QueuedMessage, request: RebindRequest): Promise<void> {
    const from = message.queue;
    const rewrites = request.trigger_rebind_event || Object.keys(request.data).length > 0;
    try {
      if (request.trigger_rebind_event) {
        if (!this.#deps.policy.rebindMessage)
          throw new Error('the policy cannot run rebind_message');
        const bytes = await this.#deps.spool.read(message.id);
        const changed = await this.#deps.policy.rebindMessage(message, request.data, bytes);
        message.sender = changed.sender;
        message.recipients = [...changed.recipients];
        message.meta = { ...changed.meta };
      } else if (rewrites) {
        // A new object: meta objects are shared between messages received together.
        message.meta = { ...message.meta, ...request.data };
      }
      message.queue = queueOf(message);
    } catch (error) {
      this.#deps.driverContext.logger.error(`rebind of ${message.id} failed; it stays in ${from}`, {
        error: errorText(error),
      });
      this.#queues.schedule(message);
      return;
    }
    const moved = message.queue !== from;
    if (moved || request.always_flush) message.due = this.#now();
    if (moved && !request.suppress_logging)
      this.#dispositions.log(
        'AdminRebind',
        message,
        message.recipients,
        {
          response: makeResponse(
            250,
            `Rebound from ${from} to ${message.queue}: ${request.reason}`,
          ),
        },
        scheduledAttempt(DEFAULT_RETRY_POLICY),
      );
    // Nothing to write when only the due time changed (`always_flush` with no data): the spool
    // keeps the one it had, so after a crash the message waits until then, as it would have
    // without the rebind. A drain of a deep queue then costs no write per message.
    if (rewrites || moved)
      await this.#deps.spool.update(toSpoolEntry(message)).catch((error: unknown) =>
        this.#deps.driverContext.logger.error(
          `rebind of ${message.id}: the spool kept the old meta`,
          {
            error: errorText(error),
          },
        ),
      );
    this.#queues.schedule(message);
  }

  /** The first live bounce rule matching a scheduled queue. */
  bounceRuleFor(queue: string): BounceRule | undefined {
    return this.#bounces.match(queue);
  }

  /** The first live suspension matching a scheduled queue. */
  suspensionFor(queue: string): Rule | undefined {
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
