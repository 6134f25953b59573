import { type StatsFs, statfsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { Gauge, type Registry } from 'prom-client';
import type { Telemetry } from './telemetry.js';

/**
 * The memory a process may use: its cgroup's limit when one is set (Node reports a huge
 * number for "unlimited"), else the machine's RAM.
 */
export function memoryLimit(): number {
  const total = totalmem();
  const constrained = (
    process as { constrainedMemory?: () => number | undefined }
  ).constrainedMemory?.();
  return constrained !== undefined && constrained > 0 && constrained < total ? constrained : total;
}

/**
 * KumoMTA's `memory_usage` (resident set size), `memory_limit` and `disk_free_*{name}` for the
 * spool and log directories the telemetry watches. A directory that cannot be read (removed,
 * unmounted) has no series rather than a made-up value.
 */
export function registerSystemMetrics(registry: Registry, telemetry: Telemetry): void {
  new Gauge({
    name: 'memory_usage',
    help: 'number of bytes of used memory (Resident Set Size)',
    registers: [registry],
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new Gauge({
    name: 'memory_limit',
    help: "soft memory limit measured in bytes (the process's cgroup limit, else the machine's RAM)",
    registers: [registry],
    collect() {
      this.set(memoryLimit());
    },
  });
  // One statfs per directory per scrape, shared by the four gauges.
  let readings: Map<string, StatsFs> | undefined;
  const read = () => {
    if (readings === undefined) {
      readings = new Map();
      for (const [name, dir] of telemetry.diskWatch) {
        try {
          readings.set(name, statfsSync(dir));
        } catch {
          // No reading, no series.
        }
      }
      setImmediate(() => {
        readings = undefined;
      });
    }
    return readings;
  };
  const disk = (name: string, help: string, pick: (s: StatsFs) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['name'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [label, s] of read()) this.set({ name: label }, pick(s));
      },
    });
  disk(
    'disk_free_bytes',
    'number of available bytes in a monitored location',
    (s) => s.bavail * s.bsize,
  );
  disk('disk_free_percent', 'percentage of available bytes in a monitored location', (s) =>
    s.blocks > 0 ? (100 * s.bavail) / s.blocks : 0,
  );
  disk('disk_free_inodes', 'number of available inodes in a monitored location', (s) => s.ffree);
  disk('disk_free_inodes_percent', 'percentage of available inodes in a monitored location', (s) =>
    s.files > 0 ? (100 * s.ffree) / s.files : 0,
  );
}
