import type { LeverRef } from '../../../src/dashboard/wire.js';
import { formatRelative, formatWithOffset } from '../format.js';

/** A badge for an admin lever holding a queue, with its reason and end in text. */
export function LeverBadge({
  label,
  lever,
  tone,
  now,
}: {
  readonly label: string;
  readonly lever: LeverRef;
  readonly tone: 'warn' | 'bad';
  readonly now: number;
}) {
  return (
    <span class="lever">
      <span class={`badge badge-${tone}`}>{label}</span>{' '}
      <span
        class="muted small"
        title={`until ${formatWithOffset(lever.expires)} (rule ${lever.id})`}
      >
        {lever.reason}, ends {formatRelative(lever.expires, now)}
      </span>
    </span>
  );
}
