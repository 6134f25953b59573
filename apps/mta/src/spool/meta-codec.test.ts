import type { MetaValue } from '@sterna/core';
import { describe, expect, it } from 'vitest';
import { decodeMeta, encodeMeta, type MetaCache } from './meta-codec.js';

const id = '0123456789abcdef0123456789abcdef';

describe("a spool record's metadata JSON", () => {
  it('keeps the keys it was first written with, whatever the in-memory names', () => {
    const json = encodeMeta({
      id,
      sender: 's@example.com',
      recipients: ['r@example.net'],
      meta: { tenant: 'acme' },
      size: 10,
      due: 1234,
      num_attempts: 3,
    }).toString('utf8');
    expect(json).toBe(
      '{"sender":"s@example.com","recipients":["r@example.net"],"meta":{"tenant":"acme"},"due":1234,"numAttempts":3}',
    );
  });

  it('reads a record written before, attempts included', () => {
    const before =
      '{"sender":"","recipients":["a@example.net","b@example.net"],"meta":{},"due":5678,"numAttempts":2}';
    expect(decodeMeta(id, 42, before)).toEqual({
      id,
      sender: '',
      recipients: ['a@example.net', 'b@example.net'],
      meta: {},
      size: 42,
      due: 5678,
      num_attempts: 2,
    });
    expect(decodeMeta(id, 0, '{"sender":"s","recipients":[],"meta":{}}')).toEqual({
      id,
      sender: 's',
      recipients: [],
      meta: {},
      size: 0,
    });
  });

  it('decodes the same with a meta cache, sharing the meta object of a run of equal metas', () => {
    // Strings and keys chosen to look like the parts the cache cuts at.
    const tricky = ['plain', ',"meta":{', '"},"due":5}', '\\","meta":', 'ü✓ 𝄞', '1}', ''];
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const value = (depth: number): MetaValue => {
      const r = random();
      if (r < 0.3) return pick(tricky);
      if (r < 0.45) return Math.floor(random() * 1e6) / (random() < 0.5 ? 1 : 7);
      if (r < 0.5) return null;
      if (r < 0.55) return random() < 0.5;
      if (depth > 1) return pick(tricky);
      if (r < 0.75) return [value(depth + 1), value(depth + 1)];
      const o: Record<string, MetaValue> = {};
      for (const k of ['meta', 'due', 'numAttempts', pick(tricky)])
        if (random() < 0.6) o[k] = value(depth + 1);
      return o;
    };
    const cache: MetaCache = { text: undefined, meta: undefined };
    let previous: Record<string, MetaValue> | undefined;
    for (let i = 0; i < 2000; i++) {
      const meta: Record<string, MetaValue> =
        previous !== undefined && random() < 0.5 ? { ...previous } : {};
      if (Object.keys(meta).length === 0) {
        for (const k of ['due', 'numAttempts', 'meta', 'queue', pick(tricky)])
          if (random() < 0.5) meta[k] = value(0);
      }
      const entry = {
        id,
        sender: pick(tricky),
        recipients: [pick(tricky), `r${i}@example.net`],
        meta,
        size: i,
        ...(random() < 0.7 ? { due: random() < 0.5 ? 1_764_000_000_000 + i : -i / 3 } : {}),
        ...(random() < 0.7 ? { num_attempts: Math.floor(random() * 40) } : {}),
      };
      const json = encodeMeta(entry).toString('utf8');
      const decoded = decodeMeta(id, i, json, cache);
      expect(decoded).toEqual(decodeMeta(id, i, json));
      expect(decoded).toEqual(entry);
      if (previous !== undefined && JSON.stringify(previous) === JSON.stringify(meta))
        expect(decoded.meta).toBe(cache.meta);
      previous = meta;
    }
  });

  it('parses anything not laid out as written here whole, as JSON.parse does', () => {
    const cache: MetaCache = { text: undefined, meta: undefined };
    for (const text of [
      '{"sender":"s","due":1,"recipients":["r"],"meta":{"a":1}}',
      '{"sender":"s","recipients":["r"],"meta":{"a":1},"due":null}',
      '{"sender":"s","recipients":["r"],"meta":{"a":1},"other":2}',
      '{"sender":"s","recipients":["r"],"meta":{"a":1},"due":1,"due":2}',
      '{"sender":"s","recipients":[{"x":1,"meta":2}],"meta":{"a":1}}',
      '{"sender":"s","recipients":["r"],"meta":{"a":1},"meta":{"b":2}}',
      '{"recipients":["r"],"meta":{"a":1},"sender":"s"}',
      '{"sender":"s","recipients":["r"]}',
    ]) {
      expect(decodeMeta(id, 1, text, cache)).toEqual(decodeMeta(id, 1, text));
    }
  });
});
