import { SternaError } from './errors.js';

/** A duration as policies write it: seconds as a number, or a humantime string (`'20 minutes'`). */
export type DurationInput = number | string;

// humantime's unit names (the crate KumoMTA parses durations with), in seconds.
const UNIT_SECONDS: Readonly<Record<string, number>> = {
  nanos: 1e-9,
  nsec: 1e-9,
  ns: 1e-9,
  micros: 1e-6,
  usec: 1e-6,
  us: 1e-6,
  µs: 1e-6,
  millis: 1e-3,
  msec: 1e-3,
  ms: 1e-3,
  seconds: 1,
  second: 1,
  secs: 1,
  sec: 1,
  s: 1,
  minutes: 60,
  minute: 60,
  mins: 60,
  min: 60,
  m: 60,
  hours: 3600,
  hour: 3600,
  hrs: 3600,
  hr: 3600,
  h: 3600,
  days: 86_400,
  day: 86_400,
  d: 86_400,
  weeks: 604_800,
  week: 604_800,
  wks: 604_800,
  wk: 604_800,
  w: 604_800,
  months: 2_630_016,
  month: 2_630_016,
  M: 2_630_016,
  years: 31_557_600,
  year: 31_557_600,
  yrs: 31_557_600,
  yr: 31_557_600,
  y: 31_557_600,
};

const PART = /(\d+)\s*([A-Za-zµ]+)/y;

/**
 * Parses a duration into seconds, as KumoMTA does: a number is seconds (fractions allowed);
 * a string is one or more `<integer><unit>` parts (`'1h 30m'`, `'10s'`, `'7 days'`).
 *
 * @throws SternaError `STERNA_DURATION_INVALID` naming the offending text.
 */
export function parseDuration(input: DurationInput, what = 'duration'): number {
  if (typeof input === 'number') {
    if (Number.isFinite(input) && input >= 0) return input;
    throw new SternaError(
      'STERNA_DURATION_INVALID',
      `${what}: ${input} is not a non-negative number of seconds`,
    );
  }
  if (typeof input !== 'string') {
    throw new SternaError(
      'STERNA_DURATION_INVALID',
      `${what}: expected a number of seconds or a string like '20 minutes', got ${typeof input}`,
    );
  }
  const text = input.trim();
  if (text === '') {
    throw new SternaError('STERNA_DURATION_INVALID', `${what}: empty duration`);
  }
  let total = 0;
  let at = 0;
  while (at < text.length) {
    while (text[at] === ' ') at++;
    PART.lastIndex = at;
    const part = PART.exec(text);
    const unit = part ? UNIT_SECONDS[part[2]!] : undefined;
    if (!part || unit === undefined) {
      const hint = part ? `unknown unit '${part[2]}'` : 'expected <number><unit>';
      throw new SternaError(
        'STERNA_DURATION_INVALID',
        `${what}: cannot parse '${input}': ${hint} (e.g. '10s', '5m', '1 hour', '7 days')`,
      );
    }
    total += Number(part[1]) * unit;
    at = PART.lastIndex;
  }
  return total;
}

/** Formats seconds the way humantime prints them (`1h 30m 5s`), for log and error texts. */
export function formatDuration(seconds: number): string {
  let rest = Math.round(seconds);
  if (rest === 0) return '0s';
  const parts: string[] = [];
  for (const [unit, size] of [
    ['days', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      parts.push(unit === 'days' ? `${n}day${n === 1 ? '' : 's'}` : `${n}${unit}`);
      rest -= n * size;
    }
  }
  return parts.join(' ');
}
