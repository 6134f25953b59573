import { type MetricSeries, sumBy } from './metrics-source.js';
import { parseReadyQueue, renderTable, scheduledQueueDomain } from './table.js';

/** One ready queue's recent activity, as kcli's queue-summary lists it. */
export interface ReadyQueueRow {
  readonly name: string;
  readonly source: string;
  readonly site: string;
  readonly protocol: string;
  readonly delivered: number;
  readonly transfail: number;
  readonly failed: number;
  readonly connections: number;
  readonly queued: number;
}

/** Options of `queue-summary` (kcli's). */
export interface SummaryOptions {
  readonly limit?: number | undefined;
  readonly byVolume?: boolean | undefined;
  readonly domain?: string | undefined;
}

/** Every ready queue that has a series, keyed by its name (the `service` label). */
export function readyQueueRows(series: readonly MetricSeries[]): ReadyQueueRow[] {
  const ready = sumBy(series, 'ready_count', 'service');
  const delivered = sumBy(series, 'total_messages_delivered', 'service');
  const transfail = sumBy(series, 'total_messages_transfail', 'service');
  const failed = sumBy(series, 'total_messages_fail', 'service');
  const connections = sumBy(series, 'connection_count', 'service');
  const rows = new Map<string, ReadyQueueRow>();
  for (const map of [ready, delivered, transfail, failed, connections]) {
    for (const service of map.keys()) {
      const parsed = parseReadyQueue(service);
      if (!parsed || rows.has(service)) continue;
      rows.set(service, {
        name: service,
        ...parsed,
        delivered: delivered.get(service) ?? 0,
        transfail: transfail.get(service) ?? 0,
        failed: failed.get(service) ?? 0,
        connections: connections.get(service) ?? 0,
        queued: ready.get(service) ?? 0,
      });
    }
  }
  return [...rows.values()];
}

const matchesDomain = (text: string, domain: string) =>
  text.toLowerCase().includes(domain.toLowerCase());

function order<T>(
  rows: T[],
  name: (row: T) => string,
  volume: (row: T) => number,
  o: SummaryOptions,
): T[] {
  const sorted = o.byVolume
    ? rows.sort((a, b) => volume(b) - volume(a) || name(a).localeCompare(name(b)))
    : rows.sort((a, b) => name(a).localeCompare(name(b)));
  return o.limit === undefined ? sorted : sorted.slice(0, o.limit);
}

/**
 * kcli's queue-summary text: the ready queues (SOURCE, SITE, PROTO and the counts D, T, C, Q),
 * then the scheduled queues with their message counts.
 */
export function renderQueueSummary(
  series: readonly MetricSeries[],
  options: SummaryOptions,
): string {
  const domain = options.domain;
  const ready = order(
    readyQueueRows(series).filter((r) => domain === undefined || matchesDomain(r.site, domain)),
    (r) => r.name,
    (r) => r.delivered + r.transfail + r.queued,
    options,
  );
  const scheduled = order(
    [...sumBy(series, 'scheduled_count', 'queue')].filter(
      ([queue]) =>
        domain === undefined || scheduledQueueDomain(queue).toLowerCase() === domain.toLowerCase(),
    ),
    ([queue]) => queue,
    ([, count]) => count,
    options,
  );
  const readyTable =
    ready.length === 0
      ? 'No ready queues.\n'
      : renderTable(
          [
            { title: 'SOURCE' },
            { title: 'SITE' },
            { title: 'PROTO' },
            { title: 'D', numeric: true },
            { title: 'T', numeric: true },
            { title: 'C', numeric: true },
            { title: 'Q', numeric: true },
          ],
          ready.map((r) => [
            r.source,
            r.site,
            r.protocol,
            r.delivered,
            r.transfail,
            r.connections,
            r.queued,
          ]),
        );
  const scheduledTable =
    scheduled.length === 0
      ? 'No scheduled queues.\n'
      : renderTable(
          [{ title: 'SCHEDULED QUEUE' }, { title: 'COUNT', numeric: true }],
          scheduled.map(([queue, count]) => [queue, count]),
        );
  return `${readyTable}\n${scheduledTable}`;
}

/**
 * kcli's provider-summary: traffic per destination site (Sterna's ready queues carry the site
 * name; provider rules are not reported separately), by descending volume. `byPool` splits the
 * rows by egress source.
 */
export function renderProviderSummary(
  series: readonly MetricSeries[],
  options: { limit?: number | undefined; byPool?: boolean | undefined },
): string {
  const groups = new Map<
    string,
    { site: string; pool: string; d: number; t: number; f: number; q: number; c: number }
  >();
  for (const r of readyQueueRows(series)) {
    const key = options.byPool ? `${r.site}\u0000${r.source}` : r.site;
    const g = groups.get(key) ?? { site: r.site, pool: r.source, d: 0, t: 0, f: 0, q: 0, c: 0 };
    g.d += r.delivered;
    g.t += r.transfail;
    g.f += r.failed;
    g.q += r.queued;
    g.c += r.connections;
    groups.set(key, g);
  }
  let rows = [...groups.values()].sort(
    (a, b) => b.d + b.t + b.f + b.q - (a.d + a.t + a.f + a.q) || a.site.localeCompare(b.site),
  );
  if (options.limit !== undefined) rows = rows.slice(0, options.limit);
  if (rows.length === 0) return 'No ready queues.\n';
  const columns = [
    { title: 'PROVIDER' },
    ...(options.byPool ? [{ title: 'POOL' }] : []),
    { title: 'D', numeric: true },
    { title: 'T', numeric: true },
    { title: 'F', numeric: true },
    { title: 'Q', numeric: true },
    { title: 'C', numeric: true },
  ];
  return renderTable(
    columns,
    rows.map((g) => [g.site, ...(options.byPool ? [g.pool] : []), g.d, g.t, g.f, g.q, g.c]),
  );
}
