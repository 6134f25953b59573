import { type AdminClient, CliError } from './client.js';

/** One series read from the daemon's metrics: a name, its labels and a number. */
export interface MetricSeries {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * Flattens KumoMTA's `/metrics.json` form: `{name: {type, help, value}}` where `value` is
 * `null`, a bare sample, `{label: {labelValue: sample}}` for one label, or
 * `[{label1: v1, …, '@': sample}]` for several. A histogram's sample (`{count, sum, …}`) is
 * read as its `count`.
 */
export function flattenMetricsJson(doc: unknown): MetricSeries[] {
  const out: MetricSeries[] = [];
  if (typeof doc !== 'object' || doc === null) return out;
  for (const [name, family] of Object.entries(doc as Record<string, unknown>)) {
    const value = (family as { value?: unknown } | null)?.value;
    if (value === null || value === undefined) continue;
    const sample = sampleOf(value);
    if (sample !== undefined) {
      out.push({ name, labels: {}, value: sample });
    } else if (Array.isArray(value)) {
      for (const row of value as Record<string, unknown>[]) {
        const { '@': raw, ...labels } = row;
        const n = sampleOf(raw);
        if (n !== undefined) out.push({ name, labels: stringLabels(labels), value: n });
      }
    } else if (typeof value === 'object') {
      for (const [label, byValue] of Object.entries(value as Record<string, unknown>)) {
        for (const [labelValue, raw] of Object.entries(byValue as Record<string, unknown>)) {
          const n = sampleOf(raw);
          if (n !== undefined) out.push({ name, labels: { [label]: labelValue }, value: n });
        }
      }
    }
  }
  return out;
}

function sampleOf(raw: unknown): number | undefined {
  if (typeof raw === 'number') return raw;
  if (
    typeof raw === 'object' &&
    raw !== null &&
    typeof (raw as { count?: unknown }).count === 'number'
  )
    return (raw as { count: number }).count;
  return undefined;
}

function stringLabels(labels: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)]));
}

/**
 * Parses the Prometheus text exposition (`/metrics`): the fallback for a daemon that does not
 * serve `/metrics.json`. Histogram rows keep their `_bucket`/`_sum`/`_count` names.
 */
export function parsePrometheusText(text: string): MetricSeries[] {
  const out: MetricSeries[] = [];
  const line = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/;
  const label = /([A-Za-z_]\w*)="((?:[^"\\]|\\.)*)"/g;
  for (const row of text.split('\n')) {
    if (row.startsWith('#')) continue;
    const m = line.exec(row);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(label))
      labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
    const value = Number(m[3]);
    if (!Number.isNaN(value)) out.push({ name: m[1]!, labels, value });
  }
  return out;
}

/** Reads the daemon's metrics, from `/metrics.json` as kcli does, else from `/metrics`. */
export async function readMetrics(client: AdminClient): Promise<MetricSeries[]> {
  const url = `${client.endpoint}/metrics.json`;
  let response: Response;
  try {
    response = await fetch(url);
  } catch {
    // the same one-line message as every other command
    await client.get('/api/check-liveness/v1');
    throw new CliError(`cannot reach the Sterna daemon at ${client.endpoint}`);
  }
  if (response.ok) return flattenMetricsJson(await response.json());
  if (response.status !== 404) {
    const text = (await response.text()).trim().split('\n')[0];
    throw new CliError(`GET /metrics.json: ${response.status} ${text}`);
  }
  const fallback = await fetch(`${client.endpoint}/metrics`);
  if (!fallback.ok) throw new CliError(`GET /metrics: ${fallback.status} ${await fallback.text()}`);
  return parsePrometheusText(await fallback.text());
}

/** Sums the series of `name` grouped by the label `by` (series without it are skipped). */
export function sumBy(
  series: readonly MetricSeries[],
  name: string,
  by: string,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of series) {
    if (s.name !== name) continue;
    const key = s.labels[by];
    if (key === undefined) continue;
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}

/** The sum of every unlabelled series of `name`. */
export function total(series: readonly MetricSeries[], name: string): number {
  let sum = 0;
  for (const s of series) if (s.name === name && Object.keys(s.labels).length === 0) sum += s.value;
  return sum;
}
