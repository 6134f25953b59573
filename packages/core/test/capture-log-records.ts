/**
 * Writes `test/fixtures/log-records.json`: the JSON text `buildLogRecord` makes of every case in
 * `log-record-cases.ts`. Run once, against the builder whose output is the reference
 * (`npx tsx test/capture-log-records.ts` in packages/core); `log-record.fixtures.test.ts` then
 * holds every later builder to it byte for byte.
 */
import { writeFileSync } from 'node:fs';
import { buildLogRecord } from '../src/log-record.js';
import { CASE_NOW, LOG_RECORD_CASES } from './log-record-cases.js';

Date.now = () => CASE_NOW;
const fixtures: Record<string, string> = {};
for (const [name, input] of LOG_RECORD_CASES)
  fixtures[name] = JSON.stringify(buildLogRecord(input));
writeFileSync(
  new URL('./fixtures/log-records.json', import.meta.url),
  `${JSON.stringify(fixtures, null, 2)}\n`,
);
console.log(`${Object.keys(fixtures).length} records captured`);
