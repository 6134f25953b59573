import { type EgressPathConfig, formatDuration, type MetaValue } from '@sterna/core';
import { parseThrottleSpec, type ThrottleSpec } from '@sterna/core/engine';
import type {
  ReadyQueueSuspension,
  ReadyQueueView,
  ResolvedEgressPath,
  ViewedMessage,
} from './admin-types.js';

/**
 * The admin API's inspection replies in KumoMTA's shapes (`kumo_api_types`), built from the
 * engine's live views, and the steady-state ceilings KumoMTA derives from an egress path
 * (`kumo.compute_egress_path_config_constraints`). Pure: the caller passes the clock.
 */

/** Which configuration term produced a ceiling (KumoMTA's `CeilingSource`). */
export type CeilingSource =
  | { readonly kind: 'primary' }
  | { readonly kind: 'additional'; readonly name: string }
  | { readonly kind: 'reconnect_cycling' }
  | { readonly kind: 'other'; readonly name: string };

/** One throughput axis (KumoMTA's `EffectiveCeiling`). */
export interface EffectiveCeiling {
  /** Events per second for rates, a count for concurrency. */
  readonly value: number;
  readonly source: CeilingSource;
  /** The operator's units: `'10000/h'`, `'32'`, `'10 × 10/s = 100/s'`. */
  readonly display: string;
}

/** The ceilings an egress path implies (KumoMTA's `EffectiveConstraints`). */
export interface EffectiveConstraints {
  readonly max_concurrent_dispatchers: EffectiveCeiling;
  readonly max_message_rate: EffectiveCeiling | null;
  /** The declared `max_message_rate` when another term is lower and wins. */
  readonly max_message_rate_declared: string | null;
  readonly max_connection_rate: EffectiveCeiling | null;
  readonly max_source_selection_rate: EffectiveCeiling | null;
}

/** The `source` name KumoMTA gives a scheduled queue's own `max_message_rate`. */
export const QUEUE_RATE_SOURCE = 'scheduled queue max_message_rate';

// The largest unit a period is a whole multiple of, as the rate is displayed.
const UNITS: readonly (readonly [string, number])[] = [
  ['d', 86_400],
  ['h', 3600],
  ['m', 60],
  ['s', 1],
];

function periodText(seconds: number): string {
  const [unit, size] = UNITS.find(([, size]) => seconds % size === 0) ?? ['s', 1];
  const count = seconds / size;
  return count === 1 ? unit : `${count}${unit}`;
}

/** A throttle in its normal form: `'1,000/hr'` is `'1000/h'`, `'20/30min'` is `'20/30m'`. */
export function formatRate(spec: ThrottleSpec): string {
  return `${spec.limit}/${periodText(spec.period)}`;
}

function rate(text: string | undefined): ThrottleSpec | undefined {
  if (text === undefined) return undefined;
  try {
    return parseThrottleSpec(text);
  } catch {
    // Paths are validated when the policy returns them; an unparsable one implies no ceiling.
    return undefined;
  }
}

const rateCeiling = (spec: ThrottleSpec, source: CeilingSource): EffectiveCeiling => ({
  value: spec.limit / spec.period,
  source,
  display: formatRate(spec),
});

// The lowest candidate; on a tie the earlier one (the primary term comes first).
function lowest(candidates: readonly EffectiveCeiling[]): EffectiveCeiling | null {
  let best: EffectiveCeiling | null = null;
  for (const c of candidates) if (best === null || c.value < best.value) best = c;
  return best;
}

function named<T>(map: Readonly<Record<string, T>> | undefined): [string, T][] {
  return Object.entries(map ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The steady-state ceilings `path` implies, each tagged with the term that produced it, as
 * KumoMTA computes them: concurrency from `connection_limit` and `additional_connection_limits`;
 * message rate from `max_message_rate`, `additional_message_rate_throttles`, the reconnect cycle
 * (`max_deliveries_per_connection × max_connection_rate`) and, when given, the scheduled queue's
 * own `max_message_rate`; connection rate from `max_connection_rate`; selection rate from
 * `source_selection_rate` and `additional_source_selection_rates`. Shared (`additional_*`)
 * limits count at their full value: contention can make them tighter.
 */
export function deriveConstraints(
  path: EgressPathConfig,
  queueConfig?: Readonly<Record<string, unknown>>,
): EffectiveConstraints {
  const concurrency: EffectiveCeiling[] = [
    {
      value: path.connection_limit,
      source: { kind: 'primary' },
      display: String(path.connection_limit),
    },
    ...named(path.additional_connection_limits).map(([name, limit]) => ({
      value: limit,
      source: { kind: 'additional', name } as const,
      display: String(limit),
    })),
  ];

  const connectionRate = rate(path.max_connection_rate);
  const declared = rate(path.max_message_rate);
  const messages: EffectiveCeiling[] = [];
  if (declared) messages.push(rateCeiling(declared, { kind: 'primary' }));
  for (const [name, text] of named(path.additional_message_rate_throttles)) {
    const spec = rate(text);
    if (spec) messages.push(rateCeiling(spec, { kind: 'additional', name }));
  }
  if (connectionRate) {
    const per = path.max_deliveries_per_connection;
    const product = `${per * connectionRate.limit}/${periodText(connectionRate.period)}`;
    messages.push({
      value: (per * connectionRate.limit) / connectionRate.period,
      source: { kind: 'reconnect_cycling' },
      display: `${per} × ${formatRate(connectionRate)} = ${product}`,
    });
  }
  const queueRate = rate(
    typeof queueConfig?.max_message_rate === 'string' ? queueConfig.max_message_rate : undefined,
  );
  if (queueRate) messages.push(rateCeiling(queueRate, { kind: 'other', name: QUEUE_RATE_SOURCE }));
  const messageRate = lowest(messages);

  const selection: EffectiveCeiling[] = [];
  const primarySelection = rate(path.source_selection_rate);
  if (primarySelection) selection.push(rateCeiling(primarySelection, { kind: 'primary' }));
  for (const [name, text] of named(path.additional_source_selection_rates)) {
    const spec = rate(text);
    if (spec) selection.push(rateCeiling(spec, { kind: 'additional', name }));
  }

  return {
    max_concurrent_dispatchers: lowest(concurrency)!,
    max_message_rate: messageRate,
    max_message_rate_declared:
      declared && messageRate?.source.kind !== 'primary' ? formatRate(declared) : null,
    max_connection_rate: connectionRate ? rateCeiling(connectionRate, { kind: 'primary' }) : null,
    max_source_selection_rate: lowest(selection),
  };
}

/** KumoMTA's `SuspendReadyQueueV1ListEntry`: the time left as humantime text. */
export interface SuspendReadyQueueListEntry {
  readonly id: string;
  readonly name: string;
  readonly reason: string;
  readonly duration: string;
  readonly expires: string;
}

/** A ready-queue suspension as `GET /api/admin/suspend-ready-q/v1` lists it. */
export function suspensionEntry(s: ReadyQueueSuspension): SuspendReadyQueueListEntry {
  return {
    id: s.id,
    name: s.name,
    reason: s.reason,
    duration: formatDuration(s.duration),
    expires: s.expires,
  };
}

/** KumoMTA's `QueueState`: why, and since when (RFC 3339). */
export interface QueueStateEntry {
  readonly context: string;
  readonly since: string;
}

const queueState = (
  state: { readonly since: number; readonly context: string } | undefined,
): QueueStateEntry | null =>
  state ? { context: state.context, since: new Date(state.since).toISOString() } : null;

/** KumoMTA's `ReadyQueueStateSnapshot`. */
export interface ReadyQueueStateSnapshot {
  readonly connection_count: number;
  readonly connection_limited: QueueStateEntry | null;
  readonly connection_rate_throttled: QueueStateEntry | null;
  readonly ready_count: number;
  readonly suspended: SuspendReadyQueueListEntry | null;
  /** The delivery watchdog, humantime text. */
  readonly watchdog_threshold: string;
}

/** The operational state of one ready queue; `watchdog` is the delivery watchdog in seconds. */
export function queueStateSnapshot(
  view: ReadyQueueView,
  watchdog: number,
): ReadyQueueStateSnapshot {
  return {
    connection_count: view.connection_count,
    connection_limited: queueState(view.connection_limited),
    connection_rate_throttled: queueState(view.connection_rate_throttled),
    ready_count: view.ready_count,
    suspended: view.suspended ? suspensionEntry(view.suspended) : null,
    watchdog_threshold: formatDuration(watchdog),
  };
}

/** KumoMTA's `ReadyQueueStateResponse`: per queue, the states that apply to it now. */
export interface ReadyQueueStates {
  readonly states_by_ready_queue: Record<
    string,
    { connection_limited?: QueueStateEntry; connection_rate_throttled?: QueueStateEntry }
  >;
}

/**
 * `GET /api/admin/ready-q-states/v1`: the `connection_limited` and `connection_rate_throttled`
 * states of the named queues (all when `names` is empty), as KumoMTA reports them: a queue in
 * neither state is not listed.
 */
export function readyQueueStates(
  views: readonly ReadyQueueView[],
  names: readonly string[] = [],
): ReadyQueueStates {
  const wanted = names.length > 0 ? new Set(names) : undefined;
  const states: ReadyQueueStates['states_by_ready_queue'] = {};
  for (const view of views) {
    if (wanted && !wanted.has(view.name)) continue;
    const limited = queueState(view.connection_limited);
    const throttled = queueState(view.connection_rate_throttled);
    if (!limited && !throttled) continue;
    states[view.name] = {
      ...(limited ? { connection_limited: limited } : {}),
      ...(throttled ? { connection_rate_throttled: throttled } : {}),
    };
  }
  return { states_by_ready_queue: states };
}

/** KumoMTA's `InspectReadyQV1Response`. */
export interface InspectReadyQueueReply {
  readonly queue_name: string;
  readonly site_name: string | null;
  readonly egress_source: string;
  readonly egress_pool: string;
  readonly protocol: string;
  readonly state: ReadyQueueStateSnapshot;
  readonly path_config: EgressPathConfig;
  readonly constraints: EffectiveConstraints;
  /** Only when asked for (`include_scheduled_queues`). */
  readonly scheduled_queue_names?: string[];
  /** Sterna keeps no per-connection phases yet: always empty (see docs/daemon.md). */
  readonly dispatchers: never[];
  readonly now: string;
}

/**
 * `GET /api/admin/inspect-ready-q/v1` for one ready queue. The scheduled queues listed with
 * `includeScheduledQueues` are those of the messages waiting in it now.
 */
export function inspectReadyQueue(
  view: ReadyQueueView,
  options: {
    readonly now: number;
    readonly watchdog: number;
    readonly includeScheduledQueues?: boolean;
  },
): InspectReadyQueueReply {
  const arrow = view.name.indexOf('->');
  const scheduled = options.includeScheduledQueues
    ? [...new Set(view.messages(view.ready_count).map((m) => m.queue))].sort()
    : undefined;
  return {
    queue_name: view.name,
    site_name: view.site === '' ? null : view.site,
    egress_source: view.egress_source ?? (arrow > 0 ? view.name.slice(0, arrow) : 'unspecified'),
    egress_pool: view.egress_pool ?? 'unspecified',
    protocol: view.protocol,
    state: queueStateSnapshot(view, options.watchdog),
    path_config: view.path,
    constraints: deriveConstraints(view.path),
    ...(scheduled ? { scheduled_queue_names: scheduled } : {}),
    dispatchers: [],
    now: new Date(options.now).toISOString(),
  };
}

/** KumoMTA's `MessageInformation` (with `data` only when the body was asked for). */
export interface MessageInformation {
  readonly sender: string;
  /** One recipient as a string, several as an array. */
  readonly recipient: string | readonly string[];
  readonly meta: Readonly<Record<string, MetaValue>>;
  readonly data?: string;
  readonly due: string;
  readonly num_attempts: number;
}

/** One waiting message as the inspection endpoints list it (`InspectMessageV1Response`). */
export function messageInformation(
  message: ViewedMessage,
  data?: string,
): { id: string; message: MessageInformation } {
  const { recipients } = message;
  return {
    id: message.id,
    message: {
      sender: message.sender,
      recipient: recipients.length === 1 ? recipients[0]! : recipients,
      meta: message.meta,
      ...(data !== undefined ? { data } : {}),
      due: new Date(message.due).toISOString(),
      num_attempts: message.num_attempts,
    },
  };
}

/** KumoMTA's `InspectQueueV1Response`. */
export interface InspectScheduledQueueReply {
  readonly queue_name: string;
  readonly messages: { id: string; message: MessageInformation }[];
  readonly num_scheduled: number;
  readonly queue_config: Readonly<Record<string, unknown>>;
  readonly delayed_metric: number;
  readonly now: string;
  readonly last_changed: string;
}

/**
 * `GET /api/admin/inspect-sched-q/v1` for one scheduled queue. `bodies` holds the message
 * bodies when they were asked for (by id). Without a `queueConfig` the reply's is `{}`, and
 * without `lastChanged` (epoch ms) it is `now`: the engine's view has neither yet (see
 * docs/daemon.md).
 */
export function inspectScheduledQueue(
  name: string,
  count: number,
  messages: readonly ViewedMessage[],
  options: {
    readonly now: number;
    readonly bodies?: ReadonlyMap<string, string> | undefined;
    readonly queueConfig?: Readonly<Record<string, unknown>> | undefined;
    readonly lastChanged?: number | undefined;
  },
): InspectScheduledQueueReply {
  return {
    queue_name: name,
    messages: messages.map((m) => messageInformation(m, options.bodies?.get(m.id))),
    num_scheduled: count,
    queue_config: options.queueConfig ?? {},
    delayed_metric: count,
    now: new Date(options.now).toISOString(),
    last_changed: new Date(options.lastChanged ?? options.now).toISOString(),
  };
}

/** KumoMTA's `ResolveEgressPathV1Response`. */
export interface ResolveEgressPathReply {
  readonly domain: string;
  readonly source: string;
  readonly queue_name: string;
  readonly queue_config: Readonly<Record<string, unknown>>;
  readonly path_config: EgressPathConfig;
  readonly constraints: EffectiveConstraints;
  /** The engine does not report the MX lookup yet: always null (see docs/daemon.md). */
  readonly mx: null;
}

/** `GET /api/admin/resolve-egress-path/v1`: the path, with the queue's own rate folded in. */
export function resolveEgressPathReply(resolved: ResolvedEgressPath): ResolveEgressPathReply {
  return {
    domain: resolved.domain,
    source: resolved.source,
    queue_name: resolved.queue_name,
    queue_config: resolved.queue_config,
    path_config: resolved.path_config,
    constraints: deriveConstraints(resolved.path_config, resolved.queue_config),
    mx: null,
  };
}
