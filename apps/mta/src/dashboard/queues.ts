import { parseQueueName } from '@sterna/core';
import { type OutcomeCounts, readyQueueService } from '../observe/telemetry.js';
import { selects } from '../queue/admin-rules.js';
import type { AdminRule, ReadyQueueSuspension, ReadyQueueView } from '../queue/admin-types.js';
import type { DashboardSources } from './sources.js';
import type { LeverRef, QueuesSnapshot, ReadyQueueRow, ScheduledQueueRow } from './wire.js';

/** The parts of a scheduled queue name (`campaign:tenant@domain!routing_domain`), as rows show them. */
export function queueNameParts(
  name: string,
): Pick<ScheduledQueueRow, 'domain' | 'tenant' | 'campaign' | 'routing_domain'> {
  const parts = parseQueueName(name);
  return {
    domain: parts.domain,
    tenant: parts.tenant ?? null,
    campaign: parts.campaign ?? null,
    routing_domain: parts.routingDomain ?? null,
  };
}

/** An admin rule as a row's lever (its `duration` is the seconds left). */
export function ruleRef(rule: AdminRule, now: number): LeverRef {
  return { id: rule.id, reason: rule.reason, expires: now + rule.duration * 1000 };
}

/** The first rule of `rules` whose selector matches the scheduled queue `name`. */
export function matchingRule(
  rules: readonly AdminRule[],
  name: string,
  now: number,
): LeverRef | null {
  const rule = rules.find((r) => selects(r, name));
  return rule ? ruleRef(rule, now) : null;
}

/** A ready-queue suspension as a row's lever. */
export function readySuspensionRef(rule: ReadyQueueSuspension): LeverRef {
  const expires = Date.parse(rule.expires);
  return { id: rule.id, reason: rule.reason, expires: Number.isNaN(expires) ? 0 : expires };
}

type Outcomes = { delivered: number; transient: number; failed: number };
const outcomesOf = (counts: OutcomeCounts | undefined): Outcomes => ({
  delivered: counts?.delivered ?? 0,
  transient: counts?.transfail ?? 0,
  failed: counts?.fail ?? 0,
});

function readyRow(
  q: ReadyQueueView,
  totals: Outcomes,
  previous: { totals: ReadonlyMap<string, Outcomes>; at: number } | undefined,
  now: number,
): ReadyQueueRow {
  const seconds = previous ? (now - previous.at) / 1000 : 0;
  const before = previous?.totals.get(q.name);
  const rate = (a: number, b: number) => Math.max(0, a - b) / seconds;
  const limit = q.path.connection_limit_local
    ? `local:${q.path.connection_limit}`
    : (q.path.connection_limit ?? null);
  const waiting = q.connection_limited
    ? { kind: 'connection_limit' as const, ...q.connection_limited }
    : q.connection_rate_throttled
      ? { kind: 'connection_rate' as const, ...q.connection_rate_throttled }
      : null;
  return {
    name: q.name,
    site: q.site,
    protocol: q.protocol,
    source: q.egress_source,
    pool: q.egress_pool,
    count: q.ready_count,
    connections: q.connection_count,
    connection_limit: limit,
    max_message_rate: q.path.max_message_rate ?? null,
    max_connection_rate: q.path.max_connection_rate ?? null,
    rates:
      previous && seconds > 0
        ? {
            // A queue that appeared since the last snapshot counts from zero.
            delivered: rate(totals.delivered, before?.delivered ?? 0),
            transient: rate(totals.transient, before?.transient ?? 0),
            failed: rate(totals.failed, before?.failed ?? 0),
          }
        : null,
    totals,
    waiting_on: waiting
      ? { kind: waiting.kind, since: waiting.since, context: waiting.context }
      : null,
    suspended: q.suspended ? readySuspensionRef(q.suspended) : null,
  };
}

/**
 * Builds queue snapshots, keeping the previous one's outcome totals so that each ready row's
 * `rates` is the difference over the time between two snapshots. Each build walks the
 * scheduled messages once (`stats()`): it runs for a GET, or every two seconds while someone
 * watches the event stream.
 */
export class QueueSnapshots {
  readonly #sources: DashboardSources;
  #previous: { totals: Map<string, Outcomes>; at: number } | undefined;

  constructor(sources: DashboardSources) {
    this.#sources = sources;
  }

  /** A snapshot of every scheduled and ready queue, at `now`. */
  build(now: number): QueuesSnapshot {
    const { engine, telemetry } = this.#sources;
    const stats = engine.stats();
    const suspensions = engine.admin.listSuspensions();
    const bounces = engine.admin.listBounces();
    const delays = stats.delays;
    const scheduled: ScheduledQueueRow[] = Object.entries(stats.scheduled)
      .map(([name, count]) => ({
        name,
        ...queueNameParts(name),
        count,
        suspended: matchingRule(suspensions, name, now),
        bounced: matchingRule(bounces, name, now),
        delayed_by_rate: (delays?.messageRate[name] ?? 0) + (delays?.throttleInsert[name] ?? 0),
      }))
      .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
    const totals = new Map<string, Outcomes>();
    const ready = engine.admin.view.readyQueues().map((q) => {
      const counts = outcomesOf(telemetry.outcomes.get(readyQueueService(q.name).service));
      totals.set(q.name, counts);
      return readyRow(q, counts, this.#previous, now);
    });
    this.#previous = { totals, at: now };
    return { now, scheduled, ready };
  }
}
