import { statfs } from 'node:fs/promises';
import { memoryLimit } from '../observe/system-metrics.js';
import { totalsOf } from './sampler.js';
import type { DashboardSources } from './sources.js';
import type { DiskUse, Overview } from './wire.js';

const percent = (part: number, whole: number) =>
  whole > 0 ? Math.round((part / whole) * 1000) / 10 : 0;

/** The free space of each watched directory; one that cannot be read is left out. */
export async function diskUse(watched: ReadonlyMap<string, string>): Promise<DiskUse[]> {
  const disks = await Promise.all(
    [...watched].map(async ([name, path]): Promise<DiskUse | undefined> => {
      try {
        const s = await statfs(path);
        return {
          name,
          path,
          total_bytes: s.blocks * s.bsize,
          free_bytes: s.bavail * s.bsize,
          free_percent: percent(s.bavail, s.blocks),
          free_inodes_percent: percent(s.ffree, s.files),
        };
      } catch {
        return undefined;
      }
    }),
  );
  return disks.filter((d): d is DiskUse => d !== undefined);
}

/**
 * The overview: counters, O(queues) figures, levers, memory, the disks as last read
 * ({@link diskUse}) and what the daemon runs. Nothing here walks the queued messages.
 */
export function buildOverview(
  sources: DashboardSources,
  version: string,
  now: number,
  disks: readonly DiskUse[],
): Overview {
  const { engine } = sources;
  const figures = engine.figures();
  return {
    node_id: sources.nodeId,
    version,
    started_at: sources.startedAt,
    now,
    totals: totalsOf(engine.counters),
    held: figures.held,
    scheduled: figures.scheduled,
    ready: figures.ready,
    connections: figures.connections,
    levers: {
      suspensions: engine.admin.listSuspensions().length,
      ready_suspensions: engine.admin.listReadyQueueSuspensions().length,
      bounces: engine.admin.listBounces().length,
    },
    memory: { rss: process.memoryUsage.rss(), limit: memoryLimit() },
    disks: [...disks],
    policy: {
      path: sources.policy.path,
      loaded_at: sources.policy.loadedAt,
      reloaded_at: sources.policy.reloadedAt(),
    },
    listeners: sources.listeners().map((l) => ({ kind: l.kind, address: l.address })),
    drivers: sources.drivers.map((d) => ({ protocol: d.protocol, package: d.package })),
    log_dirs: sources.logDirs ? [...sources.logDirs] : null,
  };
}
