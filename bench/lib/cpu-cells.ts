import { cpus } from 'node:os';

/** One case: called with the iteration number; a promise is awaited before the next call. */
export type BenchCase = (i: number) => unknown;

export interface CpuCellsOptions {
  /** The benchmark's name, first on the header line. */
  readonly name: string;
  /** Calls per case and round (see `callsFor`). */
  readonly calls: number;
  /** Measured rounds; one more runs first as a warm-up. */
  readonly rounds: number;
  /** What one call makes, for the header: `message`, `header value`… */
  readonly unit: string;
  /** Fewer calls for a costly case. @default every case `calls` */
  readonly callsFor?: (label: string) => number;
  /** Also print wall time (for cases that wait on the event loop). @default true */
  readonly wall?: boolean;
  /** Decimals printed. @default 1 */
  readonly digits?: number;
}

/**
 * Runs every case `calls` times per round, after one warm-up round, and prints per case the
 * CPU time (user + system) and wall time per call in µs, best / median of the rounds.
 */
export async function runCpuCells(
  cases: Readonly<Record<string, BenchCase>>,
  options: CpuCellsOptions,
): Promise<void> {
  const { name, calls, rounds, unit, wall = true, digits = 1 } = options;
  console.log(
    `${name}: ${calls} calls per cell, ${rounds} rounds after a warm-up, ` +
      `node ${process.version}, ${cpus().length} cpus; µs per ${unit} (best / median)`,
  );
  const cells = new Map<string, { cpu: number[]; wall: number[] }>();
  for (let r = 0; r <= rounds; r++) {
    for (const [label, run] of Object.entries(cases)) {
      const n = options.callsFor?.(label) ?? calls;
      const start = process.cpuUsage();
      const began = performance.now();
      for (let i = 0; i < n; i++) {
        const out = run(i);
        if (out instanceof Promise) await out;
      }
      const used = process.cpuUsage(start);
      if (r === 0) continue; // warm-up
      const cell = cells.get(label) ?? { cpu: [], wall: [] };
      cell.cpu.push((used.user + used.system) / n);
      cell.wall.push(((performance.now() - began) * 1000) / n);
      cells.set(label, cell);
    }
  }
  const stat = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    return `${sorted[0]!.toFixed(digits)} / ${median.toFixed(digits)}`;
  };
  for (const [label, cell] of cells)
    console.log(`${label}: CPU ${stat(cell.cpu)}${wall ? `, wall ${stat(cell.wall)}` : ''}`);
}
