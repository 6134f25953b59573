// A process's resident memory and CPU time as Linux reports them (/proc/<pid>/status and stat),
// for benchmarks that watch a daemon over time rather than only its peak.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** One reading of a process. */
export interface ProcUsage {
  /** Milliseconds since the sampler started. */
  readonly at: number;
  /** Resident memory, MB. */
  readonly rssMb: number;
  /** User + system CPU time since the process started, seconds (every thread). */
  readonly cpuSeconds: number;
}

let ticksPerSecond: number | undefined;

// Clock ticks per second (stat's utime and stime unit): getconf's answer, 100 on Linux's usual build.
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * Reads `pid`'s resident memory and CPU time now, or undefined when it has exited.
 *
 * @param since `performance.now()` of the sampler's start, for {@link ProcUsage.at}.
 */
export function readProcUsage(pid: number, since: number): ProcUsage | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis are
    // fixed: state is the first, utime the 12th and stime the 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return {
      at: performance.now() - since,
      rssMb: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024,
      cpuSeconds: ticks / clockTicks(),
    };
  } catch {
    return undefined;
  }
}

/** What changed between two readings: CPU as a share of one core, RSS in MB. */
export function usageBetween(
  a: ProcUsage,
  b: ProcUsage,
): { seconds: number; cpuSeconds: number; cpuPercent: number; rssDeltaMb: number } {
  const seconds = (b.at - a.at) / 1000;
  const cpuSeconds = b.cpuSeconds - a.cpuSeconds;
  return {
    seconds,
    cpuSeconds,
    cpuPercent: seconds > 0 ? (cpuSeconds / seconds) * 100 : 0,
    rssDeltaMb: b.rssMb - a.rssMb,
  };
}
