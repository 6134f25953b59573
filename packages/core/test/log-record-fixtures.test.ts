import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildLogRecord, LOG_RECORD_FIELDS } from '../src/log-record.js';
import { assembleRecord } from '../src/log-record-fields.js';
import { CASE_NOW, LOG_RECORD_CASES, RECORD_TYPES } from './log-record-cases.js';

// Captured from the builder before the record was declared as a table (capture-log-records.ts).
const fixtures: Record<string, string> = JSON.parse(
  readFileSync(new URL('./fixtures/log-records.json', import.meta.url), 'utf8'),
);

describe('buildLogRecord against the captured records', () => {
  beforeAll(() => {
    vi.useFakeTimers({ now: CASE_NOW, toFake: ['Date'] });
  });
  afterAll(() => {
    vi.useRealTimers();
  });

  it('has a fixture for every case and a case for every fixture', () => {
    expect(Object.keys(fixtures).sort()).toEqual(LOG_RECORD_CASES.map(([name]) => name).sort());
    expect(new Set(LOG_RECORD_CASES.map(([name]) => name.split('/')[0]))).toEqual(
      new Set(RECORD_TYPES),
    );
  });

  it.each(LOG_RECORD_CASES)('%s serializes byte for byte as captured', (name, input) => {
    expect(JSON.stringify(buildLogRecord(input))).toBe(fixtures[name]);
    // The row-by-row builder, used where the runtime forbids compiling the literal.
    expect(JSON.stringify(assembleRecord(LOG_RECORD_FIELDS, input))).toBe(fixtures[name]);
  });
});
