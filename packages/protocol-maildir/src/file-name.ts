/**
 * Maildir file names in KumoMTA's form. The temporary name is
 * `<secs>.#<counter hex>M<nanos>P<pid>.<host>`; once the file is complete it is renamed to
 * `<secs>.#<counter hex>M<nanos>P<pid>V<dev>I<ino>.<host>,S=<size>`.
 */

// Process-global, like KumoMTA's atomic counter: with the pid and host it makes every name unique
// even when the clock stands still or steps back.
let counter = 0;

/** The parts shared by a message's temporary and final names. */
export interface NameStem {
  readonly secs: number;
  readonly counter: number;
  /** Nanoseconds within the second. */
  readonly nanos: number;
  readonly pid: number;
  /** The host name, escaped for Maildir. */
  readonly host: string;
}

/**
 * Escapes a host name as the Maildir specification asks: `/` becomes `\057` and `:` becomes
 * `\072` (a `/` would split the name, a `:` starts the info part).
 */
export function escapeHostname(hostname: string): string {
  return hostname.replaceAll('/', '\\057').replaceAll(':', '\\072');
}

/**
 * A fresh name stem. `nowMs` is wall-clock epoch milliseconds (fractions count, so a
 * high-resolution clock gives finer `M` values).
 */
export function nextNameStem(nowMs: number, escapedHost: string, pid = process.pid): NameStem {
  const secs = Math.floor(nowMs / 1000);
  const nanos = Math.min(999_999_999, Math.max(0, Math.round((nowMs - secs * 1000) * 1e6)));
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return { secs, counter, nanos, pid, host: escapedHost };
}

/** `tmp/` name of a stem. */
export function tmpFileName(stem: NameStem): string {
  return `${stem.secs}.#${stem.counter.toString(16)}M${stem.nanos}P${stem.pid}.${stem.host}`;
}

/** `new/` name of a stem, with the device and inode of the written file and its size. */
export function finalFileName(stem: NameStem, dev: bigint, ino: bigint, size: number): string {
  return `${stem.secs}.#${stem.counter.toString(16)}M${stem.nanos}P${stem.pid}V${dev}I${ino}.${stem.host},S=${size}`;
}

/** The fields of a final name, or undefined when `name` is not one (tests and tools read it). */
export function parseFinalFileName(name: string):
  | {
      secs: number;
      counter: number;
      nanos: number;
      pid: number;
      dev: bigint;
      ino: bigint;
      host: string;
      size: number;
    }
  | undefined {
  const m = /^(\d+)\.#([0-9a-f]+)M(\d+)P(\d+)V(\d+)I(\d+)\.(.+),S=(\d+)$/.exec(name);
  if (!m) return undefined;
  return {
    secs: Number(m[1]),
    counter: Number.parseInt(m[2]!, 16),
    nanos: Number(m[3]),
    pid: Number(m[4]),
    dev: BigInt(m[5]!),
    ino: BigInt(m[6]!),
    host: m[7]!,
    size: Number(m[8]),
  };
}
