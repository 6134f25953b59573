// How numbers, sizes and times are shown to people. Counters that tests read as plain
// integers are not formatted here: only the text beside them is.

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const percent = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 0 });
const clock = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });
const dateClock = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** A whole number with the reader's grouping (`12,345`). */
export function formatInt(value: number): string {
  return integer.format(value);
}

/** A rate or other small real number, at most one decimal. */
export function formatDecimal(value: number): string {
  return decimal.format(value);
}

/** A fraction 0…1 as a percentage. */
export function formatPercent(fraction: number): string {
  return percent.format(fraction);
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** A byte count in binary units (`1.5 GiB`). */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? integer.format(value) : decimal.format(value)} ${UNITS[unit]}`;
}

/** A duration in seconds as `1h 2m 3s` (the two largest units). */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const parts: [number, string][] = [
    [Math.floor(s / 86_400), 'd'],
    [Math.floor((s % 86_400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  if (first === -1) return '0s';
  return parts
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, u]) => `${n}${u}`)
    .join(' ');
}

function twoDigits(n: number): string {
  return String(n).padStart(2, '0');
}

/** An epoch-ms time as local ISO text with its UTC offset (`2025-01-02 03:04:05 +01:00`). */
export function formatWithOffset(ms: number): string {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return 'invalid time';
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return (
    `${d.getFullYear()}-${twoDigits(d.getMonth() + 1)}-${twoDigits(d.getDate())} ` +
    `${twoDigits(d.getHours())}:${twoDigits(d.getMinutes())}:${twoDigits(d.getSeconds())} ` +
    `${sign}${twoDigits(Math.floor(abs / 60))}:${twoDigits(abs % 60)}`
  );
}

/** An epoch-ms time as local text: the clock alone when it is today, else with the date. */
export function formatLocalTime(ms: number, now: number = Date.now()): string {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return 'invalid time';
  return d.toDateString() === new Date(now).toDateString() ? clock.format(d) : dateClock.format(d);
}

/** How long ago (or how far ahead) `ms` is from `now`: `5m ago`, `in 30s`. */
export function formatRelative(ms: number, now: number): string {
  const delta = (ms - now) / 1000;
  if (Math.abs(delta) < 1) return 'now';
  return delta > 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`;
}
