import { resolve } from 'node:path';
import { Dashboard } from '../../dashboard/hub.js';
import { parseLocalLogsConfig } from '../../logs/index.js';
import { telemetry } from '../../observe/telemetry.js';
import type { QueueManager } from '../../queue/queue-manager.js';
import type { LoadedPolicy } from './load-policy.js';
import type { DaemonParts } from './parts.js';

/** The local log directories `configure_local_logs` writes to (`log_dir` and per-record ones). */
function logDirs(loaded: LoadedPolicy): string[] | null {
  if (!loaded.collected.localLogs) return null;
  const config = parseLocalLogsConfig(loaded.collected.localLogs);
  const dirs = new Set([config.logDir]);
  for (const params of Object.values(config.perRecord)) if (params?.logDir) dirs.add(params.logDir);
  return [...dirs];
}

/**
 * The daemon's one dashboard, shared by every HTTP listener: it reads the engine's counters and
 * O(queues) figures, the process telemetry, and what booted. `bound` is filled as the listeners
 * open; `reloadedAt` reads the config epochs once they exist.
 */
export function makeDashboard(
  loaded: LoadedPolicy,
  queues: QueueManager,
  info: {
    readonly policyPath: string;
    readonly nodeId: string;
    readonly startedAt: number;
    readonly loadedAt: number;
    readonly bound: readonly { kind: 'smtp' | 'http'; address: string }[];
  },
  parts: DaemonParts,
): Dashboard {
  const dashboard = new Dashboard({
    nodeId: info.nodeId,
    startedAt: info.startedAt,
    engine: queues,
    telemetry,
    policy: {
      path: resolve(info.policyPath),
      loadedAt: info.loadedAt,
      reloadedAt: () => parts.epochs?.bumpedAt ?? null,
    },
    listeners: () => info.bound,
    drivers: loaded.registry
      .drivers()
      .map((d) => ({ protocol: d.protocol, package: d.packageName ?? null })),
    logDirs: logDirs(loaded),
  });
  parts.dashboard = dashboard;
  return dashboard;
}
