import { describe, expect, it } from 'vitest';
import { BadQuery, readQuery } from './journey.js';
import { assembleJourneys, journeyOutcome, recordMentions } from './journey-records.js';

const ID_A = '0a1b2c3d4e5f11f0a1b2c3d4e5f60718';
const ID_B = '0a1b2c3d4e5f11f0a1b2c3d4e5f60719';
const record = (id: string, type: string, timestamp: number, extra: object = {}) => ({
  id,
  type,
  timestamp,
  sender: 'from@example.org',
  recipient: 'Someone@Example.com',
  queue: 'example.com',
  site: 'mx.example.com',
  num_attempts: 0,
  response: { code: 250, enhanced_code: null, content: 'ok', command: null },
  ...extra,
});

describe('assembleJourneys', () => {
  it('groups records by message, events oldest first, journeys newest first', () => {
    const journeys = assembleJourneys(
      [
        record(ID_A, 'Delivery', 20),
        record(ID_B, 'Reception', 30),
        record(ID_A, 'Reception', 10),
        record(ID_B, 'TransientFailure', 40, {
          response: {
            code: 450,
            enhanced_code: { class: 4, subject: 2, detail: 0 },
            content: 'later',
          },
        }),
      ],
      new Map(),
    );
    expect(journeys.map((j) => j.id)).toEqual([ID_B, ID_A]);
    expect(journeys[1]!.events.map((e) => [e.type, e.time])).toEqual([
      ['Reception', 10_000],
      ['Delivery', 20_000],
    ]);
    expect(journeys[1]!.outcome).toBe('delivered');
    expect(journeys[1]!.recipients).toEqual(['Someone@Example.com']);
    expect(journeys[0]!.events[1]!.response).toEqual({
      code: 450,
      enhanced_code: { class: 4, subject: 2, detail: 0 },
      content: 'later',
    });
    expect(journeys[0]!.outcome).toBe('unknown');
  });

  it('takes the envelope and the place from the engine when it holds the message', () => {
    const now = {
      queue: 'example.com',
      where: 'scheduled' as const,
      due: 99_000,
      num_attempts: 1,
      held_by: null,
    };
    const journeys = assembleJourneys(
      [record(ID_A, 'Reception', 10), record(ID_A, 'TransientFailure', 11)],
      new Map([
        [ID_A, { sender: 'from@example.org', recipients: ['someone@example.com'], now }],
        [ID_B, { sender: 'x@example.org', recipients: ['y@example.com'], now }],
      ]),
    );
    const a = journeys.find((j) => j.id === ID_A)!;
    expect(a.outcome).toBe('queued');
    expect(a.now).toEqual(now);
    // Held without a record (no local logs, or older than the scan): still a journey.
    expect(journeys.find((j) => j.id === ID_B)!.events).toEqual([]);
  });

  it('keeps at most the limit', () => {
    const records = Array.from({ length: 60 }, (_, i) =>
      record(`${ID_A.slice(0, 30)}${String(i).padStart(2, '0')}`, 'Reception', i),
    );
    expect(assembleJourneys(records, new Map())).toHaveLength(50);
  });
});

describe('journeyOutcome', () => {
  const e = (type: string) => ({ type }) as never;
  it('reads the last final record, or queued while the engine holds it', () => {
    expect(journeyOutcome([e('Reception'), e('Bounce')], false)).toBe('bounced');
    expect(journeyOutcome([e('Reception'), e('AdminBounce')], false)).toBe('bounced');
    expect(journeyOutcome([e('Reception'), e('Expiration')], false)).toBe('expired');
    expect(journeyOutcome([e('Reception'), e('TransientFailure')], true)).toBe('queued');
    expect(journeyOutcome([e('Reception')], false)).toBe('unknown');
  });
});

describe('recordMentions and readQuery', () => {
  it('matches senders and recipients without regard to case', () => {
    expect(recordMentions(record(ID_A, 'Reception', 1), 'someone@EXAMPLE.com')).toBe(true);
    expect(recordMentions(record(ID_A, 'Reception', 1, { recipient: ['a@x', 'b@x'] }), 'B@X')).toBe(
      true,
    );
    expect(recordMentions(record(ID_A, 'Reception', 1), 'FROM@example.org')).toBe(true);
    expect(recordMentions(record(ID_A, 'Reception', 1), 'else@example.com')).toBe(false);
  });

  it('reads a spool id in any case as an id, anything else as an address', () => {
    expect(readQuery(` ${ID_A.toUpperCase()} `)).toEqual({ query: ID_A, by: 'id' });
    expect(readQuery('Someone@Example.com')).toEqual({
      query: 'Someone@Example.com',
      by: 'address',
    });
    expect(() => readQuery('')).toThrow(BadQuery);
    expect(() => readQuery(undefined)).toThrow('q: give a spool id');
    expect(() => readQuery('a'.repeat(321))).toThrow('q: 321 characters is too long (at most 320)');
  });
});
