import { type Logger, makeResponse } from '@sterna/core';
import { buildLogRecord, type LogRecordType } from '@sterna/core/engine';
import { describe, expect, it } from 'vitest';
import {
  type AutomationLevers,
  type AutomationRule,
  ShapingAutomation,
} from '../../src/shaping/automation.js';

const HOUR = 3600;
const GMAIL_MX = ['gmail-smtp-in.l.google.com.', 'alt1.gmail-smtp-in.l.google.com'];

type Call = [lever: keyof AutomationLevers, ...args: unknown[]];

/** The levers, recording each call (the unit's boundary with the daemon). */
function recordingLevers(): { calls: Call[]; levers: AutomationLevers } {
  const calls: Call[] = [];
  const levers: AutomationLevers = {
    suspendReadyQueue: (...args) => void calls.push(['suspendReadyQueue', ...args]),
    suspendScheduled: (...args) => void calls.push(['suspendScheduled', ...args]),
    bounce: (...args) => void calls.push(['bounce', ...args]),
    setPathConfig: (...args) => void calls.push(['setPathConfig', ...args]),
  };
  return { calls, levers };
}

function recordingLog(): { lines: { level: string; message: string }[]; log: Logger } {
  const lines: { level: string; message: string }[] = [];
  const at = (level: string) => (message: string) => void lines.push({ level, message });
  return {
    lines,
    log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
  };
}

function rule(fields: Partial<AutomationRule> & Pick<AutomationRule, 'regex' | 'action'>) {
  const base: AutomationRule = {
    scope: 'domain',
    name: 'example.com',
    file: '/etc/sterna/shaping.toml',
    mx_rollup: false,
    regex: '',
    action: 'Suspend',
    trigger: 'Immediate',
    duration: HOUR,
    match_internal: false,
  };
  return { ...base, ...fields } as AutomationRule;
}

interface RecordFields {
  type?: LogRecordType;
  queue?: string;
  source?: string | null;
  site?: string;
}

/** A TransientFailure with an SMTP reply (`421 4.7.28 …`), as the dispatcher logs it. */
function failure(reply: string, fields: RecordFields = {}) {
  const space = reply.indexOf(' ');
  const source = fields.source === undefined ? 'ip-1' : fields.source;
  return buildLogRecord({
    type: fields.type ?? 'TransientFailure',
    id: 'a'.repeat(32),
    sender: 'sender@example.org',
    recipient: 'user@example.com',
    queue: fields.queue ?? 'example.com',
    site: fields.site ?? `${source ?? 'unspecified'}->(alt1|alt2).mx.example.com@smtp_client`,
    egress_source: source,
    response: makeResponse(Number(reply.slice(0, space)), reply.slice(space + 1)),
    nodeid: 'node',
  });
}

/** A failure Sterna made itself (`KumoMTA internal: …`). */
function internalFailure(text: string, fields: RecordFields = {}) {
  return {
    ...failure('451 x', fields),
    response: makeResponse(451, `KumoMTA internal: ${text}`, {
      enhanced: { class: 4, subject: 4, detail: 4 },
    }),
  };
}

const RATE_LIMITED = '421 4.7.28 Our system has detected an unusual rate of unsolicited mail';

function setup(
  rules: AutomationRule[],
  mx: Record<string, readonly string[] | Error> = {},
): {
  automation: ShapingAutomation;
  calls: Call[];
  lines: { level: string; message: string }[];
  lookups: string[];
  clock: { now: number };
} {
  const { calls, levers } = recordingLevers();
  const { lines, log } = recordingLog();
  const lookups: string[] = [];
  const clock = { now: 1_700_000_000_000 };
  const automation = new ShapingAutomation({
    rules,
    levers,
    log,
    now: () => clock.now,
    mxHosts: async (domain) => {
      lookups.push(domain);
      const answer = mx[domain];
      if (answer instanceof Error) throw answer;
      if (!answer)
        throw Object.assign(new Error(`queryMx ENOTFOUND ${domain}`), { code: 'ENOTFOUND' });
      return answer;
    },
  });
  return { automation, calls, lines, lookups, clock };
}

describe('which records and responses match', () => {
  it('matches the one-line response: code, enhanced code and text, searched anywhere', () => {
    const { automation, calls } = setup([
      rule({ regex: '4\\.7\\.28', action: 'Suspend' }),
      rule({ regex: '421 4\\.7\\.28', action: 'Bounce' }),
      rule({ regex: '(?i)UNUSUAL RATE', action: 'SuspendTenant' }),
      rule({ regex: '^4\\.7\\.28', action: 'BounceTenant' }),
    ]);
    automation.observe(failure(RATE_LIMITED, { queue: 'acme@example.com' }));
    expect(calls.map((c) => c[0])).toEqual(['suspendReadyQueue', 'bounce', 'suspendScheduled']);
  });

  it('looks only at TransientFailure and Bounce records', () => {
    const { automation, calls } = setup([rule({ regex: '4\\.7\\.28', action: 'Bounce' })]);
    for (const type of ['Delivery', 'Reception', 'Expiration', 'AdminBounce'] as const)
      automation.observe(failure(RATE_LIMITED, { type }));
    expect(calls).toEqual([]);
    automation.observe(failure(RATE_LIMITED, { type: 'Bounce' }));
    expect(calls).toHaveLength(1);
  });

  it('skips KumoMTA internal responses unless the rule has match_internal', () => {
    const { automation, calls } = setup([
      rule({ regex: 'is suspended', action: 'Bounce' }),
      rule({ regex: 'is suspended', action: 'SuspendTenant', match_internal: true }),
    ]);
    automation.observe(
      internalFailure('scheduled queue is suspended: x', { queue: 'acme@example.com' }),
    );
    expect(calls).toEqual([
      [
        'suspendScheduled',
        { domain: 'example.com', tenant: 'acme' },
        'automation rule: /is suspended/ (domain example.com in /etc/sterna/shaping.toml)',
        HOUR,
      ],
    ]);
  });
});

describe('actions and what they apply to', () => {
  it('Suspend suspends the record’s ready queue (its source and site) for the duration', () => {
    const { automation, calls, lines } = setup([
      rule({ regex: '4\\.7\\.28', action: 'Suspend', duration: 7200 }),
    ]);
    automation.observe(failure(RATE_LIMITED));
    expect(calls).toEqual([
      [
        'suspendReadyQueue',
        'ip-1->(alt1|alt2).mx.example.com@smtp_client',
        'automation rule: /4\\.7\\.28/ (domain example.com in /etc/sterna/shaping.toml)',
        7200,
      ],
    ]);
    const info = lines.filter((l) => l.level === 'info').map((l) => l.message);
    expect(info).toEqual([
      `traffic shaping automation: suspended ready queue ip-1->(alt1|alt2).mx.example.com@smtp_client for 7200s: rule /4\\.7\\.28/ (domain example.com in /etc/sterna/shaping.toml) matched "${RATE_LIMITED}"`,
    ]);
  });

  it('SuspendTenant and SuspendCampaign select scheduled queues; no tenant, no effect', () => {
    const { automation, calls, lines } = setup([
      rule({ regex: 'tenant', action: 'SuspendTenant' }),
      rule({ regex: 'campaign', action: 'SuspendCampaign' }),
    ]);
    automation.observe(failure('450 4.2.0 tenant campaign', { queue: 'spring:acme@Example.com' }));
    automation.observe(failure('450 4.2.0 campaign only', { queue: 'beta@example.com' }));
    automation.observe(failure('450 4.2.0 tenant campaign', { queue: 'example.com' }));
    const selectors = calls.map((c) => [c[0], c[1]]);
    expect(selectors).toEqual([
      ['suspendScheduled', { domain: 'example.com', tenant: 'acme' }],
      ['suspendScheduled', { domain: 'example.com', tenant: 'acme', campaign: 'spring' }],
      // No campaign: as SuspendTenant.
      ['suspendScheduled', { domain: 'example.com', tenant: 'beta' }],
    ]);
    expect(lines.some((l) => l.level === 'debug' && /needs a tenant/.test(l.message))).toBe(true);
  });

  it('Bounce, BounceTenant and BounceCampaign set admin bounces for the domain', () => {
    const { automation, calls } = setup([
      rule({ regex: '5\\.1\\.1', action: 'Bounce', duration: 600 }),
      rule({ regex: '5\\.1\\.1', action: 'BounceTenant', duration: 600 }),
      rule({ regex: '5\\.1\\.1', action: 'BounceCampaign', duration: 600 }),
    ]);
    automation.observe(
      failure('550 5.1.1 no such user', { type: 'Bounce', queue: 'spring:acme@example.com' }),
    );
    expect(calls.map((c) => [c[0], c[1], c[3]])).toEqual([
      ['bounce', { domain: 'example.com' }, 600],
      ['bounce', { domain: 'example.com', tenant: 'acme' }, 600],
      ['bounce', { domain: 'example.com', tenant: 'acme', campaign: 'spring' }, 600],
    ]);
  });

  it('SetConfig overrides the source and site name; SetDomainConfig the destination domain', () => {
    const { automation, calls } = setup([
      rule({
        regex: 'too many connections',
        action: { SetConfig: { name: 'connection_limit', value: 2 } },
      }),
      rule({
        regex: 'too many connections',
        action: { SetDomainConfig: { name: 'max_message_rate', value: '10/m' } },
      }),
    ]);
    automation.observe(failure('421 4.7.0 too many connections', { source: 'ip-2' }));
    expect(calls.map((c) => c.slice(0, 4))).toEqual([
      [
        'setPathConfig',
        { source: 'ip-2', site: '(alt1|alt2).mx.example.com' },
        'connection_limit',
        2,
      ],
      ['setPathConfig', { domain: 'example.com' }, 'max_message_rate', '10/m'],
    ]);
  });

  it('a record without a ready queue or source gives Suspend and SetConfig nothing to act on', () => {
    const { automation, calls } = setup([
      rule({ regex: 'x', action: 'Suspend' }),
      rule({ regex: 'x', action: { SetConfig: { name: 'connection_limit', value: 1 } } }),
    ]);
    automation.observe(failure('451 4.4.0 x', { site: '', source: null }));
    expect(calls).toEqual([]);
  });

  it('a lever that throws is logged; observe does not throw', () => {
    const { calls, levers } = recordingLevers();
    const { lines, log } = recordingLog();
    const automation = new ShapingAutomation({
      rules: [rule({ regex: 'x', action: 'Suspend' }), rule({ regex: 'x', action: 'Bounce' })],
      levers: {
        ...levers,
        suspendReadyQueue: () => {
          throw new Error('store is closed');
        },
      },
      log,
      mxHosts: async () => [],
    });
    expect(() => automation.observe(failure('451 4.4.0 x'))).not.toThrow();
    expect(calls.map((c) => c[0])).toEqual(['bounce']);
    expect(lines.find((l) => l.level === 'error')?.message).toMatch(/store is closed/);
  });
});

describe('rule scope', () => {
  it('a domain rule with mx_rollup = false applies to that domain only', () => {
    const { automation, calls, lookups } = setup([
      rule({ name: 'example.com', mx_rollup: false, regex: 'x', action: 'Bounce' }),
    ]);
    automation.observe(failure('451 x', { queue: 'example.net' }));
    automation.observe(failure('451 x', { queue: 'acme@EXAMPLE.com!relay.example' }));
    expect(calls.map((c) => c[1])).toEqual([{ domain: 'example.com' }]);
    expect(lookups).toEqual([]);
  });

  it('a domain rule with mx_rollup applies to every domain on the same MX hosts', async () => {
    const { automation, calls, lookups } = setup(
      [rule({ name: 'gmail.com', mx_rollup: true, regex: '4\\.7\\.28', action: 'Bounce' })],
      {
        'gmail.com': GMAIL_MX,
        'workspace.example': [...GMAIL_MX].reverse().map((h) => h.toUpperCase()),
        'elsewhere.example': ['mx.elsewhere.example'],
      },
    );
    automation.observe(failure(RATE_LIMITED, { queue: 'gmail.com' }));
    expect(calls).toHaveLength(1); // the domain itself: no look-up
    automation.observe(failure(RATE_LIMITED, { queue: 'workspace.example' }));
    automation.observe(failure(RATE_LIMITED, { queue: 'elsewhere.example' }));
    await automation.idle();
    expect(calls.map((c) => c[1])).toEqual([
      { domain: 'gmail.com' },
      { domain: 'workspace.example' },
    ]);
    // Cached: later records decide at once, with no new look-up.
    automation.observe(failure('421 4.7.28 again', { queue: 'tenant@workspace.example' }));
    expect(calls).toHaveLength(2); // the same effect, still active
    expect(lookups.sort()).toEqual(['elsewhere.example', 'gmail.com', 'workspace.example']);
  });

  it('a provider rule matches DomainSuffix at once, and MXSuffix or HostName by MX hosts', async () => {
    const { automation, calls } = setup(
      [
        rule({
          scope: 'provider',
          name: 'google',
          mx_rollup: undefined,
          match: [
            { DomainSuffix: '.google.com' },
            { MXSuffix: '.google.com' },
            { HostName: 'mx.g.example' },
          ],
          regex: '4\\.7\\.28',
          action: 'Bounce',
        }),
      ],
      {
        'vanity.example': GMAIL_MX,
        'named.example': ['mx.g.example.'],
        'mixed.example': ['alt1.gmail-smtp-in.l.google.com', 'mx.other.example'],
      },
    );
    automation.observe(failure(RATE_LIMITED, { queue: 'mail.google.com' }));
    expect(calls).toHaveLength(1);
    for (const queue of ['vanity.example', 'named.example', 'mixed.example', 'nxdomain.example'])
      automation.observe(failure(RATE_LIMITED, { queue }));
    await automation.idle();
    expect(calls.map((c) => (c[1] as { domain: string }).domain)).toEqual([
      'mail.google.com',
      'vanity.example',
      'named.example',
    ]);
  });

  it('a default rule applies to every record', () => {
    const { automation, calls } = setup([
      rule({
        scope: 'default',
        name: 'default',
        mx_rollup: undefined,
        regex: 'x',
        action: 'Bounce',
      }),
    ]);
    automation.observe(failure('451 x', { queue: 'a.example' }));
    automation.observe(failure('451 x', { queue: 'b.example' }));
    expect(calls.map((c) => c[1])).toEqual([{ domain: 'a.example' }, { domain: 'b.example' }]);
    expect(calls[0]![2]).toBe('automation rule: /x/ (default in /etc/sterna/shaping.toml)');
  });

  it('an MX look-up that fails skips the rule, is logged at debug, and is not retried at once', async () => {
    const { automation, calls, lines, lookups } = setup(
      [rule({ name: 'gmail.com', mx_rollup: true, regex: 'x', action: 'Bounce' })],
      { 'gmail.com': GMAIL_MX, 'broken.example': new Error('queryMx ESERVFAIL broken.example') },
    );
    expect(() => automation.observe(failure('451 x', { queue: 'broken.example' }))).not.toThrow();
    await automation.idle();
    expect(calls).toEqual([]);
    expect(lines).toContainEqual({
      level: 'debug',
      message:
        'traffic shaping automation: MX look-up for broken.example failed (queryMx ESERVFAIL broken.example); rules that need it are skipped',
    });
    automation.observe(failure('451 x', { queue: 'broken.example' }));
    await automation.idle();
    expect(lookups.filter((d) => d === 'broken.example')).toHaveLength(1);
  });

  it('an mxHosts function that throws at once is contained too', async () => {
    const { calls, levers } = recordingLevers();
    const automation = new ShapingAutomation({
      rules: [rule({ name: 'gmail.com', mx_rollup: true, regex: 'x', action: 'Bounce' })],
      levers,
      log: recordingLog().log,
      mxHosts: () => {
        throw new Error('resolver not configured');
      },
    });
    expect(() => automation.observe(failure('451 x', { queue: 'other.example' }))).not.toThrow();
    await automation.idle();
    expect(calls).toEqual([]);
  });
});

describe('triggers and repeats', () => {
  it('Immediate: an effect still running for half its duration is not issued again', () => {
    const { automation, calls, clock } = setup([
      rule({ regex: '4\\.7\\.28', action: 'Suspend', duration: 1000 }),
    ]);
    for (let i = 0; i < 50; i++) automation.observe(failure(RATE_LIMITED));
    expect(calls).toHaveLength(1);
    // Another source's ready queue is another effect.
    automation.observe(failure(RATE_LIMITED, { source: 'ip-2' }));
    expect(calls).toHaveLength(2);
    clock.now += 499_000; // 501 s left of 1000
    automation.observe(failure(RATE_LIMITED));
    expect(calls).toHaveLength(2);
    clock.now += 2_000; // 499 s left: renewed for the full duration
    automation.observe(failure(RATE_LIMITED));
    expect(calls).toHaveLength(3);
    expect(calls[2]![1]).toBe('ip-1->(alt1|alt2).mx.example.com@smtp_client');
  });

  it('Threshold: acts once N matches fall within the period, counted per target', () => {
    const { automation, calls, clock } = setup([
      rule({ regex: '4\\.7\\.28', action: 'Suspend', trigger: { Threshold: '3/hr' } }),
    ]);
    automation.observe(failure(RATE_LIMITED));
    clock.now += 1_000_000;
    automation.observe(failure(RATE_LIMITED));
    automation.observe(failure(RATE_LIMITED, { source: 'ip-2' }));
    expect(calls).toEqual([]);
    clock.now += 2_700_000; // 3,700 s after the first: it no longer counts
    automation.observe(failure(RATE_LIMITED));
    expect(calls).toEqual([]);
    automation.observe(failure(RATE_LIMITED));
    expect(calls.map((c) => c[1])).toEqual(['ip-1->(alt1|alt2).mx.example.com@smtp_client']);
  });

  it('Threshold with a large count is counted in slices of the period', () => {
    const { automation, calls, clock } = setup([
      rule({ regex: 'x', action: 'Bounce', trigger: { Threshold: '1,000/min' } }),
    ]);
    for (let i = 0; i < 999; i++) {
      automation.observe(failure('451 x'));
      clock.now += 10;
    }
    expect(calls).toEqual([]);
    automation.observe(failure('451 x'));
    expect(calls).toHaveLength(1);
  });

  it('setRules replaces the rules and starts threshold counts again', () => {
    const { automation, calls } = setup([
      rule({ regex: 'x', action: 'Bounce', trigger: { Threshold: '2/hr' } }),
    ]);
    expect(automation.ruleCount).toBe(1);
    automation.observe(failure('451 x'));
    automation.setRules([
      rule({ regex: 'x', action: 'Bounce', trigger: { Threshold: '2/hr' } }),
      rule({ regex: 'y', action: 'SuspendTenant' }),
    ]);
    expect(automation.ruleCount).toBe(2);
    automation.observe(failure('451 x'));
    expect(calls).toEqual([]);
    automation.observe(failure('451 x'));
    expect(calls.map((c) => c[0])).toEqual(['bounce']);
    automation.setRules([]);
    expect(automation.ruleCount).toBe(0);
    automation.observe(failure('451 x y', { queue: 'acme@example.com' }));
    expect(calls).toHaveLength(1);
  });

  it('a rule whose regex JavaScript cannot run as Rust would is left out with a warning', () => {
    const { automation, lines } = setup([
      rule({ regex: '(?U)a+', action: 'Bounce' }),
      rule({ regex: 'x', action: 'Bounce' }),
    ]);
    expect(automation.ruleCount).toBe(1);
    expect(lines.find((l) => l.level === 'warn')?.message).toMatch(
      /^traffic shaping automation: rule left out: domain example\.com in \/etc\/sterna\/shaping\.toml: regex \/\(\?U\)a\+\/: .*swapped greediness/,
    );
  });
});
