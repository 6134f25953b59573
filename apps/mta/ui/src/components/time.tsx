import { formatLocalTime, formatRelative, formatWithOffset } from '../format.js';

/** A time shown in local time, with the full time and its UTC offset in the `title`. */
export function Time({ ms, relativeTo }: { readonly ms: number; readonly relativeTo?: number }) {
  const iso = Number.isNaN(new Date(ms).getTime()) ? undefined : new Date(ms).toISOString();
  return (
    <time dateTime={iso} title={formatWithOffset(ms)}>
      {formatLocalTime(ms)}
      {relativeTo === undefined ? null : (
        <span class="muted"> ({formatRelative(ms, relativeTo)})</span>
      )}
    </time>
  );
}
