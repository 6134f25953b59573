import type { MetricObjectWithValues, MetricValue, Registry } from 'prom-client';

/** A histogram's value in KumoMTA's JSON form: cumulative `[upper bound, count]` buckets. */
export interface JsonHistogram {
  readonly count: number;
  readonly sum: number;
  readonly avg: number;
  readonly bucket: [number, number][];
}

/** One series' value: a number for counters and gauges, {@link JsonHistogram} for histograms. */
export type JsonSample = number | JsonHistogram;

/**
 * One metric family in `/metrics.json`. `value` is `null` when the family has no series, the
 * bare sample when it has no labels, `{label: {labelValue: sample}}` when it has one label, and
 * `[{label1: v1, label2: v2, '@': sample}]` when it has several (KumoMTA's informal format,
 * which kcli and its `top` read).
 */
export interface JsonMetricFamily {
  readonly help?: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly value:
    | JsonSample
    | null
    | Record<string, Record<string, JsonSample>>
    | Record<string, string | JsonSample>[];
}

type Labels = Record<string, string | number>;

/** Histogram rows arrive flattened (`_bucket` with `le`, `_sum`, `_count`): regroup them by label set. */
function histogramSeries(
  values: MetricValue<string>[],
): { labels: Labels; sample: JsonHistogram }[] {
  const byKey = new Map<string, { labels: Labels; sample: JsonHistogram }>();
  for (const row of values) {
    const { le, ...labels } = row.labels as Labels;
    const key = JSON.stringify(Object.entries(labels).sort());
    let entry = byKey.get(key);
    if (entry === undefined) {
      entry = { labels, sample: { count: 0, sum: 0, avg: 0, bucket: [] } };
      byKey.set(key, entry);
    }
    const name = (row as { metricName?: string }).metricName ?? '';
    const sample = entry.sample as { count: number; sum: number; bucket: [number, number][] };
    if (name.endsWith('_bucket')) {
      // prom-client's +Inf bucket repeats `count`; KumoMTA lists finite bounds only.
      if (le !== '+Inf' && le !== undefined) sample.bucket.push([Number(le), row.value]);
    } else if (name.endsWith('_sum')) sample.sum = row.value;
    else if (name.endsWith('_count')) sample.count = row.value;
  }
  for (const entry of byKey.values()) {
    const s = entry.sample as { avg: number; sum: number; count: number };
    s.avg = s.count === 0 ? 0 : s.sum / s.count;
  }
  return [...byKey.values()];
}

function family(metric: MetricObjectWithValues<MetricValue<string>>): JsonMetricFamily | undefined {
  const type = String(metric.type);
  if (type !== 'counter' && type !== 'gauge' && type !== 'histogram') return undefined;
  const series =
    type === 'histogram'
      ? histogramSeries(metric.values)
      : metric.values.map((row) => ({ labels: (row.labels ?? {}) as Labels, sample: row.value }));
  const head = {
    ...(metric.help ? { help: metric.help } : {}),
    type: type as JsonMetricFamily['type'],
  };
  const first = series[0];
  if (first === undefined) return { ...head, value: null };
  const labelNames = Object.keys(first.labels);
  if (labelNames.length === 0) return { ...head, value: first.sample };
  if (labelNames.length === 1) {
    const label = labelNames[0] as string;
    const byValue: Record<string, JsonSample> = {};
    for (const { labels, sample } of series) byValue[String(labels[label])] = sample;
    return { ...head, value: { [label]: byValue } };
  }
  return {
    ...head,
    value: series.map(({ labels, sample }) => {
      const row: Record<string, string | JsonSample> = {};
      for (const [name, value] of Object.entries(labels)) row[name] = String(value);
      row['@'] = sample;
      return row;
    }),
  };
}

/**
 * The registry's series in KumoMTA's `/metrics.json` shape: an object keyed by metric name.
 * Collects once, so the engine snapshot is shared with nothing else (see `createMetrics`).
 */
export async function metricsAsJson(registry: Registry): Promise<Record<string, JsonMetricFamily>> {
  const out: Record<string, JsonMetricFamily> = {};
  for (const metric of await registry.getMetricsAsJSON()) {
    const rendered = family(metric as MetricObjectWithValues<MetricValue<string>>);
    if (rendered !== undefined) out[metric.name] = rendered;
  }
  return out;
}
