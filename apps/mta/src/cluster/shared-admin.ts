import { randomUUID } from 'node:crypto';
import { errorText, type Logger } from '@sterna/core';
import type { RedisParams } from '@sterna/lua';
import type { Closable } from '../daemon/boot/parts.js';
import type { SharedLever, SharedLevers } from '../queue/admin-rules.js';
import { LEVER_KINDS, type LeverKind } from '../queue/queue-admin.js';
import { openRedis, type RedisClient, redisProblem } from './redis-connect.js';

/** Every kind of lever a node holds, as {@link SharedAdmin} shares them. */
export type LeverBook = Readonly<Record<LeverKind, SharedLevers<SharedLever>>>;

/** One change as published on the channel. */
interface LeverEvent {
  /** The node that made the change (a node ignores its own events). */
  readonly node: string;
  readonly op: 'add' | 'cancel';
  readonly kind: LeverKind;
  readonly id: string;
  /** The lever added (absolute `expires`), for `add`. */
  readonly lever?: SharedLever;
  /** When a cancelled lever would have lapsed, if the canceller knew (how long to remember it). */
  readonly expires?: number;
}

/** How {@link SharedAdmin} is set up. */
export interface SharedAdminOptions {
  /** This node's id (`node-id` file): events carry it, so a node skips its own. */
  readonly nodeId: string;
  readonly log: Logger;
  readonly now?: () => number;
  /** Prefix of the keys and channel (one hash tag, so a redis cluster keeps them in one slot). @default 'sterna:{admin}:' */
  readonly prefix?: string;
  /**
   * Milliseconds between full comparisons of this node's levers with redis' (a safety net for
   * an event missed while the subscriber reconnected). @default 30000
   */
  readonly resyncMs?: number;
  /** Milliseconds the start waits for redis before going on with the local levers. @default 10000 */
  readonly startWaitMs?: number;
}

// A cancelled id is remembered at least this long (a late add event or read must not bring it back).
const TOMBSTONE_MS = 3_600_000;

/**
 * Admin levers shared by every node through redis: scheduled-queue suspensions, bounce rules,
 * ready-queue suspensions and egress path overrides, whether an operator or automation made
 * them. Each kind is a hash (`<prefix><kind>`: id → JSON lever with its absolute end), and one
 * channel (`<prefix>events`) carries every add and cancel, tagged with the node that made it.
 *
 * A node writes what it makes or cancels and publishes it; it applies what others publish
 * without publishing it again. Whenever its connection (re)opens, and every `resyncMs`, it
 * compares its levers with redis': what it made while redis was away is written, what redis
 * holds and it lacks is applied, and what it had from redis and redis no longer holds was
 * cancelled elsewhere and is dropped. Cancels made while redis was away are written when it
 * returns; a cancel wins over the lever it cancels. Redis' epoch key tells a redis that lost its
 * data (restarted without persistence, flushed) from one where levers were cancelled: after a
 * loss every node writes back what it holds.
 */
export class SharedAdmin implements Closable {
  readonly #client: RedisClient;
  readonly #subscriber: RedisClient;
  readonly #book: LeverBook;
  readonly #nodeId: string;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #timer: NodeJS.Timeout;
  /** Cancelled ids (kind:id) → until when an add of them is ignored. */
  readonly #tombstones = new Map<string, number>();
  /** Cancels made here not yet written to redis. */
  readonly #pendingCancels = new Map<string, { kind: LeverKind; id: string; expires?: number }>();
  /** The epoch of the redis record last compared with (undefined before the first). */
  #epoch: string | undefined;
  /** Undefined before the first answer; false while redis is away (logged once each way). */
  #reachable: boolean | undefined;
  #chain: Promise<void> = Promise.resolve();
  #resyncQueued = false;
  #closed = false;

  private constructor(
    client: RedisClient,
    subscriber: RedisClient,
    book: LeverBook,
    options: SharedAdminOptions,
  ) {
    this.#client = client;
    this.#subscriber = subscriber;
    this.#book = book;
    this.#nodeId = options.nodeId;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#prefix = options.prefix ?? 'sterna:{admin}:';
    this.#channel = `${this.#prefix}events`;
    this.#timer = setInterval(() => this.resync(), options.resyncMs ?? 30_000);
    this.#timer.unref();
  }

  /**
   * Connects to redis (a command connection and a subscriber), takes over `book`'s local
   * changes, and compares its levers with redis' once before resolving, so every lever in force
   * in the fleet holds here before mail moves. Redis unreachable: resolves anyway (after at most
   * `startWaitMs`) with the local levers, which are written when redis returns.
   */
  static async start(
    params: RedisParams,
    book: LeverBook,
    options: SharedAdminOptions,
  ): Promise<SharedAdmin> {
    const client = openRedis(params, {
      failFast: true,
      connectionName: `sterna-admin-${options.nodeId}`,
    });
    const subscriber = openRedis(params, {
      connectionName: `sterna-admin-events-${options.nodeId}`,
      subscriber: true,
    });
    const shared = new SharedAdmin(client, subscriber, book, options);
    shared.#listen();
    let waited: NodeJS.Timeout | undefined;
    await Promise.race([
      shared.#enqueue(() => shared.#compare(true)),
      new Promise<void>((resolve) => {
        waited = setTimeout(resolve, options.startWaitMs ?? 10_000);
      }),
    ]);
    clearTimeout(waited);
    if (shared.#reachable === undefined) shared.#down(new Error('no answer yet'));
    return shared;
  }

  /** True while the last exchange with redis succeeded. */
  get reachable(): boolean {
    return this.#reachable === true;
  }

  /** Compares this node's levers with redis' (soon; several asks make one comparison). */
  resync(): void {
    if (this.#resyncQueued || this.#closed) return;
    this.#resyncQueued = true;
    void this.#enqueue(async () => {
      this.#resyncQueued = false;
      await this.#compare(false);
    });
  }

  /** Resolves once every change made so far was written (or failed to be). */
  settled(): Promise<void> {
    return this.#chain;
  }

  /** Writes what is pending (a few seconds at most), then closes both connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    for (const kind of LEVER_KINDS) this.#book[kind].listener = undefined;
    let waited: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#chain,
      new Promise((resolve) => {
        waited = setTimeout(resolve, 3_000);
      }),
    ]);
    clearTimeout(waited);
    this.#subscriber.disconnect();
    this.#client.disconnect();
  }

  #key(kind: LeverKind): string {
    return `${this.#prefix}${kind}`;
  }

  // Local changes, redis events and (re)connections.
  #listen(): void {
    for (const kind of LEVER_KINDS) {
      this.#book[kind].listener = {
        added: (lever) => this.#added(kind, lever),
        cancelled: (id) => this.#cancelled(kind, id),
      };
    }
    this.#subscriber.on('message', (channel: string, text: string) => {
      if (channel === this.#channel) this.#received(text);
    });
    // Subscribed on each (re)connection, which may also have missed events: compare again.
    this.#client.on('ready', () => this.resync());
    this.#subscriber.on('ready', () => {
      this.#subscriber.subscribe(this.#channel).catch((error: unknown) => this.#down(error));
      this.resync();
    });
    this.#client.on('close', () => {
      if (!this.#closed && this.#reachable) this.#down(new Error('connection closed'));
    });
  }

  #added(kind: LeverKind, lever: SharedLever): void {
    if (this.#closed) return;
    void this.#enqueue(async () => {
      try {
        await this.#write(kind, lever);
      } catch (error) {
        // Written when redis returns (the comparison finds it unshared).
        this.#down(error);
      }
    });
  }

  #cancelled(kind: LeverKind, id: string): void {
    if (this.#closed) return;
    this.#tombstones.set(`${kind}:${id}`, this.#now() + TOMBSTONE_MS);
    this.#pendingCancels.set(`${kind}:${id}`, { kind, id });
    void this.#enqueue(() => this.#writeCancels().catch((error: unknown) => this.#down(error)));
  }

  // An event from another node: applied here without being published again.
  #received(text: string): void {
    let event: LeverEvent | null;
    try {
      event = JSON.parse(text) as LeverEvent | null;
    } catch {
      event = null;
    }
    if (typeof event !== 'object' || event === null || !isString(event.id)) {
      this.#log.warn(
        `shared admin state: an event on ${this.#channel} is not one of ours; ignored`,
      );
      return;
    }
    if (event.node === this.#nodeId || !LEVER_KINDS.includes(event.kind)) return;
    const levers = this.#book[event.kind];
    const tomb = `${event.kind}:${event.id}`;
    if (event.op === 'cancel') {
      this.#tombstones.set(tomb, Math.max(event.expires ?? 0, this.#now() + TOMBSTONE_MS));
      levers.dropShared(event.id);
      return;
    }
    const lever = event.lever;
    if (!isLeverOf(event.kind, lever) || this.#tombstones.has(tomb) || lever.expires <= this.#now())
      return;
    if (levers.rules().some((l) => l.id === lever.id)) {
      if (this.#epoch) levers.markShared(lever.id, this.#epoch);
      return;
    }
    levers.applyShared({ ...lever, shared: this.#epoch });
  }

  // Redis work runs one piece at a time, in the order it was asked for.
  #enqueue(work: () => Promise<void>): Promise<void> {
    this.#chain = this.#chain.then(work).catch((error: unknown) => {
      this.#log.error('shared admin state: unexpected failure', { error: errorText(error) });
    });
    return this.#chain;
  }

  async #write(kind: LeverKind, lever: SharedLever): Promise<void> {
    const { shared: _, ...stored } = lever;
    const event: LeverEvent = { node: this.#nodeId, op: 'add', kind, id: lever.id, lever: stored };
    await this.#client
      .multi()
      .hset(this.#key(kind), lever.id, JSON.stringify({ node: this.#nodeId, lever: stored }))
      .publish(this.#channel, JSON.stringify(event))
      .exec();
    if (this.#epoch) this.#book[kind].markShared(lever.id, this.#epoch);
  }

  async #writeCancels(): Promise<void> {
    for (const [key, { kind, id, expires }] of [...this.#pendingCancels]) {
      const event: LeverEvent = {
        node: this.#nodeId,
        op: 'cancel',
        kind,
        id,
        ...(expires !== undefined ? { expires } : {}),
      };
      await this.#client
        .multi()
        .hdel(this.#key(kind), id)
        .publish(this.#channel, JSON.stringify(event))
        .exec();
      this.#pendingCancels.delete(key);
    }
  }

  // The full comparison (see the class comment). `first`: the start's, which logs what it found.
  async #compare(first: boolean): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#writeCancels();
      const fresh = randomUUID();
      await this.#client.setnx(`${this.#prefix}epoch`, fresh);
      const epoch = (await this.#client.get(`${this.#prefix}epoch`)) ?? fresh;
      if (this.#epoch && epoch !== this.#epoch)
        this.#log.warn(
          'shared admin state: redis lost the fleet’s levers (restarted without its data?); this node writes back the ones it holds',
        );
      this.#epoch = epoch;
      const now = this.#now();
      for (const [key, until] of this.#tombstones) if (until <= now) this.#tombstones.delete(key);
      let written = 0;
      let read = 0;
      for (const kind of LEVER_KINDS) {
        const counts = await this.#compareKind(kind, epoch, now);
        written += counts.written;
        read += counts.read;
      }
      const was = this.#reachable;
      this.#reachable = true;
      if (first)
        this.#log.info(
          `shared admin state through redis: ${read} lever(s) of the fleet loaded, ${written} of this node's written`,
        );
      else if (was === false)
        this.#log.warn(
          `shared admin state: redis reachable again; ${written} lever(s) made here while it was away written, ${read} of the fleet applied`,
        );
    } catch (error) {
      this.#down(error);
    }
  }

  async #compareKind(
    kind: LeverKind,
    epoch: string,
    now: number,
  ): Promise<{ written: number; read: number }> {
    const levers = this.#book[kind];
    const raw = await this.#client.hgetall(this.#key(kind));
    const inRedis = new Map<string, SharedLever>();
    const dead: string[] = [];
    for (const [id, text] of Object.entries(raw)) {
      const lever = parseStored(kind, text);
      if (
        !lever ||
        lever.id !== id ||
        lever.expires <= now ||
        this.#tombstones.has(`${kind}:${id}`)
      )
        dead.push(id);
      else inRedis.set(id, lever);
    }
    // Lapsed and cancelled entries are dropped as they are found.
    if (dead.length > 0) await this.#client.hdel(this.#key(kind), ...dead);
    let written = 0;
    let read = 0;
    const held = new Set<string>();
    for (const lever of levers.rules()) {
      held.add(lever.id);
      if (inRedis.has(lever.id)) levers.markShared(lever.id, epoch);
      // Read from (or written to) this very record and gone from it: cancelled elsewhere.
      else if (lever.shared === epoch) levers.dropShared(lever.id);
      else {
        await this.#write(kind, lever);
        levers.markShared(lever.id, epoch);
        written++;
      }
    }
    for (const [id, lever] of inRedis) {
      if (held.has(id)) continue;
      levers.applyShared({ ...lever, shared: epoch });
      read++;
    }
    return { written, read };
  }

  #down(error: unknown): void {
    if (this.#closed) return;
    if (this.#reachable === false) return;
    this.#reachable = false;
    this.#log.warn(
      `shared admin state: redis unreachable (${redisProblem(error)}); suspensions, bounces and overrides made here hold on this node and are written to redis when it returns`,
    );
  }
}

const isString = (value: unknown): value is string => typeof value === 'string';
const optionalString = (value: unknown) => value === undefined || isString(value);

/**
 * True when `value` is a lever of `kind` as this node would have made it: an id, a finite end,
 * and the fields the engine reads for that kind. Whatever else arrives through redis (a
 * hand-written entry, another version's) is ignored rather than applied half-formed.
 */
function isLeverOf(kind: LeverKind, value: unknown): value is SharedLever {
  if (typeof value !== 'object' || value === null) return false;
  const lever = value as Record<string, unknown>;
  if (!isString(lever.id) || typeof lever.expires !== 'number' || !Number.isFinite(lever.expires))
    return false;
  if (!isString(lever.reason)) return false;
  switch (kind) {
    case 'suspend':
    case 'bounce':
      return (
        ['domain', 'routing_domain', 'tenant', 'campaign'].every((k) => optionalString(lever[k])) &&
        (lever.queue_names === undefined ||
          (Array.isArray(lever.queue_names) && lever.queue_names.every(isString)))
      );
    case 'ready-suspend':
      return isString(lever.name);
    case 'override': {
      const scope = lever.scope as Record<string, unknown> | null | undefined;
      return (
        isString(lever.name) &&
        typeof scope === 'object' &&
        scope !== null &&
        (isString(scope.domain) || (isString(scope.source) && isString(scope.site)))
      );
    }
  }
}

// A hash entry: { node, lever }; undefined when it is not one.
function parseStored(kind: LeverKind, text: string): SharedLever | undefined {
  try {
    const parsed = JSON.parse(text) as { lever?: unknown } | null;
    return isLeverOf(kind, parsed?.lever) ? parsed.lever : undefined;
  } catch {
    return undefined;
  }
}
