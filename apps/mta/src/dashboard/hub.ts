import { packageVersion } from '../package-version.js';
import { Assets } from './assets.js';
import { type JourneyBounds, searchJourneys } from './journey.js';
import { buildOverview, diskUse } from './overview.js';
import { QueueSnapshots } from './queues.js';
import { RateSampler } from './sampler.js';
import type { DashboardSources } from './sources.js';
import type {
  DiskUse,
  HelloEvent,
  JourneySearch,
  Overview,
  QueuesSnapshot,
  TickEvent,
} from './wire.js';

/** How often the chart is sampled and `tick` is sent. */
export const TICK_MS = 1000;
/** How often `queues` is sent while someone watches. */
export const QUEUES_MS = 2000;

/** A watcher of the live events (one SSE stream). */
export interface DashboardSubscriber {
  send(event: 'hello' | 'tick' | 'queues', data: HelloEvent | TickEvent | QueuesSnapshot): void;
}

/**
 * The daemon's one dashboard, shared by its HTTP listeners. With nobody watching it costs one
 * unref'd timer a second reading five counters into a 900-sample ring (the chart's 15 minutes
 * of history); nothing per message. Overviews and queue snapshots are built for a GET, or while
 * at least one event stream is open (the `tick` and `queues` timers run from the first
 * subscriber to the last).
 */
export class Dashboard {
  readonly sources: DashboardSources;
  readonly assets: Assets;
  readonly version: string;
  readonly #sampler: RateSampler;
  readonly #snapshots: QueueSnapshots;
  readonly #now: () => number;
  readonly #subscribers = new Set<DashboardSubscriber>();
  readonly #sampling: NodeJS.Timeout;
  #queuesTimer: NodeJS.Timeout | undefined;
  #disks: readonly DiskUse[] = [];
  #readingDisks = false;
  #closed = false;

  constructor(sources: DashboardSources) {
    this.sources = sources;
    this.assets = new Assets(sources.assetsDir);
    this.version = sources.version ?? packageVersion();
    this.#now = sources.now ?? Date.now;
    this.#sampler = new RateSampler(() => sources.engine.counters);
    this.#snapshots = new QueueSnapshots(sources);
    this.#sampling = setInterval(() => this.#tick(), TICK_MS).unref();
  }

  /** Event streams open now. */
  get subscribers(): number {
    return this.#subscribers.size;
  }

  /** The overview, now (the disks read afresh). */
  async overview(): Promise<Overview> {
    this.#disks = await diskUse(this.sources.telemetry.diskWatch);
    return buildOverview(this.sources, this.version, this.#now(), this.#disks);
  }

  /** A snapshot of the queues, now (walks the scheduled messages once). */
  queues(): QueuesSnapshot {
    return this.#snapshots.build(this.#now());
  }

  /** A journey search (see {@link searchJourneys}); throws `BadQuery` for a bad `q`. */
  journey(q: unknown, bounds?: JourneyBounds): Promise<JourneySearch> {
    return searchJourneys(this.sources, q, this.#now(), bounds);
  }

  /**
   * Adds a watcher: it gets `hello` at once, then `tick` every second and `queues` every two.
   * Returns the function that removes it.
   */
  async subscribe(subscriber: DashboardSubscriber): Promise<() => void> {
    const hello: HelloEvent = {
      overview: await this.overview(),
      history: this.#sampler.history(),
      queues: this.queues(),
    };
    subscriber.send('hello', hello);
    if (this.#closed) return () => undefined;
    this.#subscribers.add(subscriber);
    this.#queuesTimer ??= setInterval(() => this.#sendQueues(), QUEUES_MS).unref();
    return () => {
      this.#subscribers.delete(subscriber);
      if (this.#subscribers.size === 0 && this.#queuesTimer) {
        clearInterval(this.#queuesTimer);
        this.#queuesTimer = undefined;
      }
    };
  }

  /** Stops the timers (the daemon is stopping); the listeners end their own streams. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#sampling);
    clearInterval(this.#queuesTimer);
    this.#queuesTimer = undefined;
    this.#subscribers.clear();
  }

  #tick(): void {
    const now = this.#now();
    const sample = this.#sampler.sample(now);
    if (this.#subscribers.size === 0) return;
    // Every sample goes out; the disks shown are the last reading (a slow disk never holds a
    // tick back, and readings never stack up).
    const event: TickEvent = {
      sample,
      overview: buildOverview(this.sources, this.version, now, this.#disks),
    };
    for (const s of this.#subscribers) s.send('tick', event);
    if (this.#readingDisks) return;
    this.#readingDisks = true;
    diskUse(this.sources.telemetry.diskWatch)
      .then((disks) => {
        this.#disks = disks;
      })
      .catch(() => undefined)
      .finally(() => {
        this.#readingDisks = false;
      });
  }

  #sendQueues(): void {
    if (this.#subscribers.size === 0) return;
    let snapshot: QueuesSnapshot;
    try {
      snapshot = this.queues();
    } catch {
      return;
    }
    for (const s of this.#subscribers) s.send('queues', snapshot);
  }
}
