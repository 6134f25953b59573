import type { Telemetry } from '../observe/telemetry.js';
import type { AdminApi, EngineStats } from '../queue/admin-types.js';
import type { CumulativeCounters } from './sampler.js';

/** What the engine offers the dashboard: cheap figures, the admin API and a message's place. */
export interface DashboardEngine {
  /** Cumulative counters, read by reference (no copy, nothing walked). */
  readonly counters: CumulativeCounters;
  /** Held, scheduled, ready and connections, in O(queues). */
  figures(): {
    readonly held: number;
    readonly scheduled: number;
    readonly ready: number;
    readonly connections: number;
  };
  /** The full statistics (walks the scheduled messages): only for a queues snapshot. */
  stats(): EngineStats;
  readonly admin: AdminApi;
  /** Every message the engine holds, in no order (the journey's address search walks it). */
  heldMessages(): Iterable<{
    readonly id: string;
    readonly sender: string;
    readonly recipients: readonly string[];
  }>;
  /** Where the engine has one message, if it has it. */
  locate(id: string):
    | {
        readonly sender: string;
        readonly recipients: readonly string[];
        readonly queue: string;
        readonly due: number;
        readonly num_attempts: number;
        readonly ready: string | undefined;
      }
    | undefined;
}

/** Everything the dashboard reads, given once by the daemon (or a test). */
export interface DashboardSources {
  readonly nodeId: string;
  /** When the daemon started (epoch ms). */
  readonly startedAt: number;
  readonly engine: DashboardEngine;
  /** Outcomes per service and the watched directories (the process's telemetry). */
  readonly telemetry: Pick<Telemetry, 'outcomes' | 'diskWatch'>;
  readonly policy: {
    readonly path: string;
    readonly loadedAt: number;
    /** The last config epoch's time, or null. */
    readonly reloadedAt: () => number | null;
  };
  /** The bound listeners (read at each overview: they open after the dashboard is made). */
  readonly listeners: () => readonly { readonly kind: 'smtp' | 'http'; readonly address: string }[];
  readonly drivers: readonly { readonly protocol: string; readonly package: string | null }[];
  /** The local log directories, or null when no local logs are configured. */
  readonly logDirs: readonly string[] | null;
  /**
   * The built browser app (`index.html`, `assets/`). @default `dist/ui/` of this package
   */
  readonly assetsDir?: URL | string | undefined;
  /** `@sterna/mta`'s version. @default read from the package.json */
  readonly version?: string | undefined;
  readonly now?: (() => number) | undefined;
}
