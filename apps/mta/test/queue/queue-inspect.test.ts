import { egressPath, parseThrottleSpec } from '@sterna/core/engine';
import { describe, expect, it } from 'vitest';
import type { ReadyQueueView, ViewedMessage } from '../../src/queue/admin-types.js';
import {
  deriveConstraints,
  formatRate,
  inspectReadyQueue,
  inspectScheduledQueue,
  messageInformation,
  QUEUE_RATE_SOURCE,
  readyQueueStates,
  resolveEgressPathReply,
  suspensionEntry,
} from '../../src/queue/queue-inspect.js';

const T0 = Date.parse('2026-06-19T13:42:17Z');

function viewed(id: string, queue: string, recipients = ['a@y.example']): ViewedMessage {
  return {
    id,
    sender: 's@x.example',
    recipients,
    meta: { queue },
    due: T0 + 60_000,
    num_attempts: 1,
    queue,
  };
}

function readyView(overrides: Partial<ReadyQueueView> = {}): ReadyQueueView {
  const waiting = [
    viewed('m1', 'y.example'),
    viewed('m2', 't@y.example'),
    viewed('m3', 'y.example'),
  ];
  return {
    name: 'unspecified->mx.y.example@smtp_client',
    site: 'mx.y.example',
    protocol: 'smtp_client',
    egress_pool: 'unspecified',
    egress_source: 'unspecified',
    path: egressPath(),
    ready_count: waiting.length,
    connection_count: 2,
    messages: (limit) => waiting.slice(0, limit),
    suspended: undefined,
    connection_limited: undefined,
    connection_rate_throttled: undefined,
    ...overrides,
  };
}

describe('deriveConstraints', () => {
  it('gives the default path its connection_limit only, as KumoMTA does', () => {
    expect(deriveConstraints(egressPath())).toEqual({
      max_concurrent_dispatchers: { value: 32, source: { kind: 'primary' }, display: '32' },
      max_message_rate: null,
      max_message_rate_declared: null,
      max_connection_rate: null,
      max_source_selection_rate: null,
    });
  });

  it('writes rates in the operator’s units and values them per second', () => {
    expect(formatRate(parseThrottleSpec('10,000/hr'))).toBe('10000/h');
    expect(formatRate(parseThrottleSpec('20/30min'))).toBe('20/30m');
    expect(formatRate(parseThrottleSpec('local:5/s,max_burst=1'))).toBe('5/s');
    expect(formatRate(parseThrottleSpec('1000/day'))).toBe('1000/d');
    const c = deriveConstraints(egressPath({ max_message_rate: '10,000/hr' }));
    expect(c.max_message_rate).toEqual({
      value: 10_000 / 3600,
      source: { kind: 'primary' },
      display: '10000/h',
    });
    expect(c.max_message_rate_declared).toBeNull();
  });

  it('takes the lowest term per axis and names the additional entry that wins', () => {
    const c = deriveConstraints(
      egressPath({
        connection_limit: 10,
        additional_connection_limits: { 'global-limit': 100, 'site-limit': 4 },
        max_message_rate: '100/s',
        additional_message_rate_throttles: { 'provider-rate': '60/m' },
        source_selection_rate: '2/day',
        additional_source_selection_rates: { 'warmup-ip1': '500/d,max_burst=1' },
      }),
    );
    expect(c.max_concurrent_dispatchers).toEqual({
      value: 4,
      source: { kind: 'additional', name: 'site-limit' },
      display: '4',
    });
    expect(c.max_message_rate).toEqual({
      value: 1,
      source: { kind: 'additional', name: 'provider-rate' },
      display: '60/m',
    });
    expect(c.max_message_rate_declared).toBe('100/s');
    expect(c.max_source_selection_rate).toEqual({
      value: 2 / 86_400,
      source: { kind: 'primary' },
      display: '2/d',
    });
  });

  it('keeps the primary term on a tie', () => {
    const c = deriveConstraints(
      egressPath({ connection_limit: 8, additional_connection_limits: { other: 8 } }),
    );
    expect(c.max_concurrent_dispatchers.source).toEqual({ kind: 'primary' });
  });

  it('caps the message rate by reconnect cycling: max_deliveries_per_connection × max_connection_rate', () => {
    const c = deriveConstraints(
      egressPath({
        max_deliveries_per_connection: 10,
        max_connection_rate: '10/s',
        max_message_rate: '1000/s',
      }),
    );
    expect(c.max_message_rate).toEqual({
      value: 100,
      source: { kind: 'reconnect_cycling' },
      display: '10 × 10/s = 100/s',
    });
    expect(c.max_message_rate_declared).toBe('1000/s');
    expect(c.max_connection_rate).toEqual({
      value: 10,
      source: { kind: 'primary' },
      display: '10/s',
    });
  });

  it('folds in the scheduled queue’s own max_message_rate as an “other” term', () => {
    const c = deriveConstraints(egressPath({ max_message_rate: '100/s' }), {
      max_message_rate: '5/s',
    });
    expect(c.max_message_rate).toEqual({
      value: 5,
      source: { kind: 'other', name: QUEUE_RATE_SOURCE },
      display: '5/s',
    });
    expect(c.max_message_rate_declared).toBe('100/s');
    // Not a string: no term.
    expect(deriveConstraints(egressPath(), { max_message_rate: 5 }).max_message_rate).toBeNull();
  });

  it('implies no ceiling from a rate it cannot parse', () => {
    const c = deriveConstraints(
      egressPath({ max_connection_rate: 'often', additional_message_rate_throttles: { x: '?' } }),
    );
    expect(c.max_connection_rate).toBeNull();
    expect(c.max_message_rate).toBeNull();
  });
});

describe('ready-queue replies', () => {
  const suspension = {
    id: '9511a32e-66f8-42aa-b151-ccb176df47d9',
    name: 'unspecified->mx.y.example@smtp_client',
    reason: 'working with the postmaster',
    duration: 87 * 60,
    expires: '2026-06-19T15:09:17.000Z',
  };

  it('lists a suspension with the time left as humantime text', () => {
    expect(suspensionEntry(suspension)).toEqual({ ...suspension, duration: '1h 27m' });
  });

  it('inspect-ready-q: identity, state, path, ceilings, no dispatchers', () => {
    const view = readyView({
      suspended: suspension,
      connection_rate_throttled: { since: T0, context: 'max_connection_rate throttling for 5s' },
      path: egressPath({ connection_limit: 3 }),
    });
    const reply = inspectReadyQueue(view, { now: T0, watchdog: 600 });
    expect(reply).toEqual({
      queue_name: view.name,
      site_name: 'mx.y.example',
      egress_source: 'unspecified',
      egress_pool: 'unspecified',
      protocol: 'smtp_client',
      state: {
        connection_count: 2,
        connection_limited: null,
        connection_rate_throttled: {
          context: 'max_connection_rate throttling for 5s',
          since: '2026-06-19T13:42:17.000Z',
        },
        ready_count: 3,
        suspended: { ...suspension, duration: '1h 27m' },
        watchdog_threshold: '10m',
      },
      path_config: view.path,
      constraints: deriveConstraints(view.path),
      dispatchers: [],
      now: '2026-06-19T13:42:17.000Z',
    });
    expect(JSON.parse(JSON.stringify(reply))).not.toHaveProperty('scheduled_queue_names');
  });

  it('inspect-ready-q: the scheduled queues feeding it, from its waiting messages', () => {
    const reply = inspectReadyQueue(readyView(), {
      now: T0,
      watchdog: 600,
      includeScheduledQueues: true,
    });
    expect(reply.scheduled_queue_names).toEqual(['t@y.example', 'y.example']);
  });

  it('inspect-ready-q: a queue without a site or source (maildir) still names them', () => {
    const reply = inspectReadyQueue(
      readyView({
        name: 'unspecified->@maildir',
        site: '',
        protocol: 'maildir',
        egress_pool: null,
        egress_source: null,
      }),
      { now: T0, watchdog: 90 },
    );
    expect(reply.site_name).toBeNull();
    expect(reply.egress_source).toBe('unspecified');
    expect(reply.egress_pool).toBe('unspecified');
    expect(reply.state.watchdog_threshold).toBe('1m 30s');
  });

  it('ready-q-states: the limited and throttled queues only, filtered by name', () => {
    const limited = readyView({
      name: 'a->x@smtp_client',
      connection_limited: { since: T0, context: 'TooManyLeases for global-limit' },
    });
    const throttled = readyView({
      name: 'b->x@smtp_client',
      connection_rate_throttled: { since: T0 + 1000, context: 'max_connection_rate' },
    });
    const idle = readyView({ name: 'c->x@smtp_client', suspended: suspension });
    expect(readyQueueStates([limited, throttled, idle])).toEqual({
      states_by_ready_queue: {
        'a->x@smtp_client': {
          connection_limited: {
            context: 'TooManyLeases for global-limit',
            since: '2026-06-19T13:42:17.000Z',
          },
        },
        'b->x@smtp_client': {
          connection_rate_throttled: {
            context: 'max_connection_rate',
            since: '2026-06-19T13:42:18.000Z',
          },
        },
      },
    });
    expect(
      Object.keys(
        readyQueueStates([limited, throttled], ['b->x@smtp_client']).states_by_ready_queue,
      ),
    ).toEqual(['b->x@smtp_client']);
  });
});

describe('scheduled-queue and resolve replies', () => {
  it('lists messages as MessageInformation: one recipient as a string, several as an array', () => {
    expect(messageInformation(viewed('m1', 'y.example'))).toEqual({
      id: 'm1',
      message: {
        sender: 's@x.example',
        recipient: 'a@y.example',
        meta: { queue: 'y.example' },
        due: '2026-06-19T13:43:17.000Z',
        num_attempts: 1,
      },
    });
    const two = messageInformation(
      viewed('m2', 'y.example', ['a@y.example', 'b@y.example']),
      'body',
    );
    expect(two.message.recipient).toEqual(['a@y.example', 'b@y.example']);
    expect(two.message.data).toBe('body');
  });

  it('inspect-sched-q: counts, bodies when given, and the clock for now', () => {
    const messages = [viewed('m1', 'y.example'), viewed('m2', 'y.example')];
    const reply = inspectScheduledQueue('y.example', 7, messages, {
      now: T0,
      bodies: new Map([['m2', 'Subject: hi\r\n\r\n']]),
    });
    expect(reply).toMatchObject({
      queue_name: 'y.example',
      num_scheduled: 7,
      delayed_metric: 7,
      queue_config: {},
      now: '2026-06-19T13:42:17.000Z',
      last_changed: '2026-06-19T13:42:17.000Z',
    });
    expect(reply.messages.map((m) => m.message.data)).toEqual([undefined, 'Subject: hi\r\n\r\n']);
    const withConfig = inspectScheduledQueue('y.example', 0, [], {
      now: T0,
      queueConfig: { max_age: 3600 },
      lastChanged: T0 - 5000,
    });
    expect(withConfig.queue_config).toEqual({ max_age: 3600 });
    expect(withConfig.last_changed).toBe('2026-06-19T13:42:12.000Z');
  });

  it('resolve-egress-path: KumoMTA’s fields, the queue rate folded into the ceilings', () => {
    const path = egressPath({ max_message_rate: '100/s', connection_limit: 2 });
    const reply = resolveEgressPathReply({
      domain: 'y.example',
      source: 'ip1',
      queue_name: 'ip1->mx.y.example@smtp_client',
      site_name: 'mx.y.example',
      queue_config: { max_message_rate: '1/s' },
      path_config: path,
    });
    expect(reply).toEqual({
      domain: 'y.example',
      source: 'ip1',
      queue_name: 'ip1->mx.y.example@smtp_client',
      queue_config: { max_message_rate: '1/s' },
      path_config: path,
      constraints: deriveConstraints(path, { max_message_rate: '1/s' }),
      mx: null,
    });
    expect(reply.constraints.max_message_rate?.source).toEqual({
      kind: 'other',
      name: QUEUE_RATE_SOURCE,
    });
  });
});
