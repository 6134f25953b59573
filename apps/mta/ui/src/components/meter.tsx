import { useEffect, useRef } from 'preact/hooks';
import { formatPercent } from '../format.js';

/**
 * A bar showing how much of something is used, with the same fact in text (so colour is
 * not the only cue). Past `warnAt` the bar is marked as a warning.
 */
export function UsageBar({
  label,
  used,
  detail,
  warnAt = 0.9,
}: {
  readonly label: string;
  /** 0…1 */
  readonly used: number;
  readonly detail: string;
  readonly warnAt?: number;
}) {
  const fill = useRef<HTMLSpanElement>(null);
  const fraction = Math.min(1, Math.max(0, Number.isFinite(used) ? used : 0));
  // Set from script: the page's CSP allows no style attributes in markup.
  useEffect(() => {
    if (fill.current) fill.current.style.width = `${(fraction * 100).toFixed(1)}%`;
  }, [fraction]);
  const warn = fraction >= warnAt;
  return (
    <div class="usage">
      <div class="usage-text">
        <span>{label}</span>
        <span class="num">
          {formatPercent(fraction)} used{warn ? ' (nearly full)' : ''} · {detail}
        </span>
      </div>
      <span class={`bar${warn ? ' bar-warn' : ''}`} aria-hidden="true">
        <span class="bar-fill" ref={fill} />
      </span>
    </div>
  );
}
