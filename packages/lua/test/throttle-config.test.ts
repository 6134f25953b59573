import { parseThrottleSpec } from '@sterna/core/engine';
import { describe, expect, it } from 'vitest';
import { parseEgressPath, parseQueueConfig } from '../src/index.js';
import { inlinePolicy } from './inline-policy.js';

// Every place a policy gives a throttle accepts exactly what core's parseThrottleSpec accepts
// (KumoMTA's syntax) and refuses the rest with its text; kumo.make_egress_path's shaping keys
// reach core's EgressPathConfig.

/** The error text of `fn`, or 'accepted'. */
function problem(fn: () => unknown): string {
  try {
    fn();
    return 'accepted';
  } catch (error) {
    return (error as Error).message;
  }
}

// make_throttle.md's examples, and the forms its text describes.
const GOOD = [
  '10/s',
  '10/sec',
  '10/second',
  'local:10/second',
  '50/m',
  '50/min',
  '50/minute',
  '60/minute,max_burst=1',
  '20/30minute',
  '20/30min',
  '1,000/hr',
  '1_000/h',
  '1000/hour',
  '10_000/d',
  '10,000/day',
  '500/d,max_burst=1',
];
const BAD = [
  '10',
  '10/fortnight',
  '0/s',
  '-1/s',
  '/s',
  'ten/s',
  '10/s,max_burst=0',
  '10/s,burst=2',
  '',
];

describe('throttle specs in the configuration schemas', () => {
  it("accepts KumoMTA's forms wherever a throttle goes, keeping the text as written", () => {
    for (const spec of GOOD) {
      expect(() => parseThrottleSpec(spec)).not.toThrow();
      expect(
        parseEgressPath({
          max_message_rate: spec,
          max_connection_rate: spec,
          source_selection_rate: spec,
          additional_message_rate_throttles: { a: spec },
          additional_source_selection_rates: { b: spec },
        }),
      ).toMatchObject({
        max_message_rate: spec,
        max_connection_rate: spec,
        source_selection_rate: spec,
        additional_message_rate_throttles: { a: spec },
        additional_source_selection_rates: { b: spec },
      });
      expect(
        parseQueueConfig({ max_message_rate: spec, overall_max_message_rate: spec }),
      ).toMatchObject({
        max_message_rate: spec,
      });
    }
  });

  it('refuses what parseThrottleSpec refuses, with its text, naming the key', () => {
    for (const spec of BAD) {
      const why = problem(() => parseThrottleSpec(spec));
      expect(why).toMatch(/^invalid throttle/);
      expect(problem(() => parseEgressPath({ max_message_rate: spec }))).toBe(
        `make_egress_path: max_message_rate: ${why}`,
      );
      expect(problem(() => parseQueueConfig({ overall_max_message_rate: spec }))).toBe(
        `make_queue_config: overall_max_message_rate: ${why}`,
      );
    }
    expect(problem(() => parseEgressPath({ source_selection_rate: 100 }))).toBe(
      "make_egress_path: source_selection_rate: expected a throttle spec string such as '100/h'",
    );
  });
});

describe('kumo.make_egress_path: the shaping keys', () => {
  it('refuses a connection limit that is not a count, local: or not, naming the key', () => {
    for (const bad of ['local:lots', 'local:', '-3']) {
      expect(() => parseEgressPath({ connection_limit: bad })).toThrow(
        `make_egress_path: connection_limit: expected a whole number such as 32 or "1,000", got '${bad}'`,
      );
    }
    expect(() => parseEgressPath({ additional_connection_limits: { pool: 'local:x' } })).toThrow(
      /additional_connection_limits/,
    );
  });

  it('passes the maps, the selection rate and refresh_interval to the egress path config', () => {
    const path = parseEgressPath({
      connection_limit: 'local:20',
      additional_connection_limits: {
        'global-connection-limit': 100,
        'site-a': '1,000',
        b: 'local:3',
      },
      additional_message_rate_throttles: { 'global-message-rate': '4000/s' },
      source_selection_rate: '100/day,max_burst=1',
      additional_source_selection_rates: { 'overall-source-limit-ip1': '10,000/day,max_burst=1' },
      refresh_interval: '5 minutes',
    });
    expect(path).toMatchObject({
      connection_limit: 20,
      additional_connection_limits: { 'global-connection-limit': 100, 'site-a': 1000, b: 3 },
      additional_message_rate_throttles: { 'global-message-rate': '4000/s' },
      source_selection_rate: '100/day,max_burst=1',
      additional_source_selection_rates: { 'overall-source-limit-ip1': '10,000/day,max_burst=1' },
      refresh_interval: 300,
    });
    // An empty Lua table is an empty map.
    expect(
      parseEgressPath({ additional_connection_limits: {} }).additional_connection_limits,
    ).toEqual({});
    // Unset, they stay unset.
    const plain = parseEgressPath({});
    expect(plain.additional_connection_limits).toBeUndefined();
    expect(plain.source_selection_rate).toBeUndefined();
    expect(plain.refresh_interval).toBeUndefined();
  });

  it('names the key and the map entry of a bad value', () => {
    expect(
      problem(() =>
        parseEgressPath({
          additional_connection_limits: { 'global-limit': 'many', ok: 3, neg: -1 },
        }),
      ),
    ).toBe(
      "make_egress_path: additional_connection_limits: entry 'global-limit': expected a whole number such as 32 or \"1,000\", got 'many'; " +
        'additional_connection_limits: entry \'neg\': expected a whole number such as 32 or "1,000", got -1',
    );
    expect(
      problem(() =>
        parseEgressPath({ additional_message_rate_throttles: { 'site.rate': '10/fortnight' } }),
      ),
    ).toBe(
      `make_egress_path: additional_message_rate_throttles: entry 'site.rate': ${problem(() => parseThrottleSpec('10/fortnight'))}`,
    );
    expect(
      problem(() => parseEgressPath({ additional_source_selection_rates: { warm: 100 } })),
    ).toBe(
      "make_egress_path: additional_source_selection_rates: entry 'warm': expected a throttle spec string such as '100/h'",
    );
    // A Lua list is not a table of names.
    expect(problem(() => parseEgressPath({ additional_message_rate_throttles: ['10/s'] }))).toBe(
      'make_egress_path: additional_message_rate_throttles: expected a table of names to throttle specs',
    );
  });

  it('raises from Lua with the same text', async () => {
    const policy = await inlinePolicy(`
      kumo.on('path', function(params) return kumo.make_egress_path(params) end)
    `);
    expect(
      await policy.fail('path', { additional_connection_limits: { 'kumomta-ish': 'x' } }),
    ).toContain(
      "kumo.make_egress_path: additional_connection_limits: entry 'kumomta-ish': expected a whole number",
    );
    expect(
      await policy.call('path', { additional_message_rate_throttles: { g: '20/30min' } }),
    ).toEqual({ additional_message_rate_throttles: { g: '20/30min' } });
  });

  it('checks an equal table once, but a bad one every time, and per kind', async () => {
    const policy = await inlinePolicy(`
      kumo.on('path', function(params) return kumo.make_egress_path(params) end)
      kumo.on('queue', function(params) return kumo.make_queue_config(params) end)
    `);
    const good = { connection_limit: 3, enable_tls: 'Disabled' };
    for (let i = 0; i < 3; i += 1) expect(await policy.call('path', good)).toEqual(good);
    for (let i = 0; i < 2; i += 1) {
      expect(await policy.fail('path', { connection_limit: 'many' })).toContain(
        'kumo.make_egress_path: connection_limit: expected a whole number',
      );
    }
    // Valid as an egress path is not valid as a queue config.
    expect(await policy.fail('queue', good)).toContain('kumo.make_queue_config:');
  });
});
