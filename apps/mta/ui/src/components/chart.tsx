import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { RateSample } from '../../../src/dashboard/wire.js';
import { formatDecimal, formatWithOffset } from '../format.js';

type SeriesKey = 'received' | 'delivered' | 'transient' | 'bounced';

/** The chart's series: name, CSS colour variable, line dash (so colour is not the only cue). */
const SERIES: readonly { key: SeriesKey; label: string; dash: number[] }[] = [
  { key: 'received', label: 'Received', dash: [] },
  { key: 'delivered', label: 'Delivered', dash: [] },
  { key: 'transient', label: 'Transient failures', dash: [6, 4] },
  { key: 'bounced', label: 'Bounced', dash: [2, 3] },
];

const WINDOW_SECONDS = 900;
const dark = window.matchMedia('(prefers-color-scheme: dark)');

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function toData(history: readonly RateSample[]): uPlot.AlignedData {
  return [
    history.map((s) => s.t / 1000),
    ...SERIES.map(({ key }) => history.map((s) => s[key])),
  ] as uPlot.AlignedData;
}

function options(width: number, onCursor: (idx: number | null) => void): uPlot.Options {
  const text = cssVar('--text-muted');
  const grid = cssVar('--grid');
  const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } };
  return {
    width,
    height: width < 500 ? 200 : 260,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: {
        time: true,
        range: (_u, _min, max) => {
          const end = max ?? Date.now() / 1000;
          return [end - WINDOW_SECONDS, end];
        },
      },
      y: { range: (_u, _min, max) => [0, Math.max(1, max ?? 1) * 1.1] },
    },
    axes: [axis, { ...axis, size: 48 }],
    series: [
      {},
      ...SERIES.map(({ key, label, dash }) => ({
        label,
        stroke: cssVar(`--series-${key}`),
        width: 2,
        dash,
        points: { show: false },
      })),
    ],
    hooks: { setCursor: [(u) => onCursor(u.cursor.idx ?? null)] },
  };
}

/**
 * The overview's line chart of the four per-second series over the last 15 minutes, redrawn
 * on each sample, resized with its container, recoloured when the colour scheme changes. Its
 * legend is HTML: the series' names with the hovered (else latest) value.
 */
export function RateChart({ history }: { readonly history: readonly RateSample[] }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [cursor, setCursor] = useState<number | null>(null);
  const [scheme, setScheme] = useState(dark.matches);
  const data = useMemo(() => toData(history), [history]);
  const latest = useRef(data);
  latest.current = data;

  useEffect(() => {
    const onScheme = () => setScheme(dark.matches);
    dark.addEventListener('change', onScheme);
    return () => dark.removeEventListener('change', onScheme);
  }, []);

  useEffect(() => {
    // The scheme's colours are read when the chart is made: a change makes a new one.
    void scheme;
    const element = host.current;
    if (!element) return;
    const chart = new uPlot(
      options(element.clientWidth || 600, setCursor),
      latest.current,
      element,
    );
    plot.current = chart;
    const observer = new ResizeObserver(() => {
      const width = element.clientWidth;
      if (width > 0 && width !== chart.width) {
        chart.setSize({ width, height: width < 500 ? 200 : 260 });
      }
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [scheme]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  const index = cursor ?? history.length - 1;
  const sample = history[index];
  return (
    <figure class="chart" aria-label="Messages per second, last 15 minutes">
      <figcaption>
        Messages per second, last 15 minutes
        {sample ? (
          <span class="chart-at" title={formatWithOffset(sample.t)}>
            {cursor === null
              ? ' (latest second)'
              : ` (at ${new Date(sample.t).toLocaleTimeString()})`}
          </span>
        ) : null}
      </figcaption>
      <div class="chart-canvas" ref={host} aria-hidden="true" />
      <ul class="legend">
        {SERIES.map(({ key, label }) => (
          <li key={key}>
            <span class={`swatch swatch-${key}`} aria-hidden="true" />
            <span>{label}</span>{' '}
            <strong class="num">{sample ? formatDecimal(sample[key]) : '–'}</strong>
            <span class="unit">/s</span>
          </li>
        ))}
      </ul>
    </figure>
  );
}
