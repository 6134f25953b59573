import { describe, expect, it } from 'vitest';
import {
  type ConformanceOptions,
  copiesOf,
  expectResponseShape,
  openSignal,
  testMessage,
  withHarness,
} from './harness.js';

/** Temporary and permanent refusals are reported as such, and nothing refused is delivered. */
export function classificationGroup(conf: ConformanceOptions): void {
  describe('per-recipient classification', () => {
    it('reports a temporary refusal as transient and does not deliver it', () =>
      withHarness(conf, async ({ open, harness, target }) => {
        const rcpt = harness.recipients.transient;
        if (!rcpt) return;
        const { connection } = await open();
        const message = testMessage([rcpt], target);
        const outcomes = await connection.send(message, { signal: openSignal() });
        await connection.close();
        expect(outcomes.map((o) => [o.recipient, o.kind])).toEqual([[rcpt, 'transient']]);
        expectResponseShape(outcomes[0]!.response);
        expect(await copiesOf(harness, message)).toEqual([]);
      }));

    it('reports a permanent refusal as permanent with a 5xx code and does not deliver it', () =>
      withHarness(conf, async ({ open, harness, target }) => {
        const rcpt = harness.recipients.permanent;
        if (!rcpt) return;
        const { connection } = await open();
        const message = testMessage([rcpt], target);
        const outcomes = await connection.send(message, { signal: openSignal() });
        await connection.close();
        expect(outcomes.map((o) => [o.recipient, o.kind])).toEqual([[rcpt, 'permanent']]);
        expect(outcomes[0]!.response.code).toBeGreaterThanOrEqual(500);
        expect(outcomes[0]!.response.code).toBeLessThan(600);
        expect(await copiesOf(harness, message)).toEqual([]);
      }));

    it('classifies each recipient of a mixed message on its own', () =>
      withHarness(conf, async ({ open, harness, target }) => {
        const { transient, permanent, accept } = harness.recipients;
        if (!conf.driver.capabilities.multiRecipient || (!transient && !permanent)) return;
        const expected: [string, string][] = [[accept[0], 'delivered']];
        if (transient) expected.push([transient, 'transient']);
        if (permanent) expected.push([permanent, 'permanent']);
        const { connection } = await open();
        const message = testMessage(
          expected.map(([r]) => r),
          target,
        );
        const outcomes = await connection.send(message, { signal: openSignal() });
        await connection.close();
        expect(outcomes.map((o) => [o.recipient, o.kind])).toEqual(expected);
        const reached = (await copiesOf(harness, message)).flatMap((c) => c.recipients);
        expect(reached).toContain(accept[0]);
        for (const [rcpt, kind] of expected)
          if (kind !== 'delivered') expect(reached).not.toContain(rcpt);
      }));
  });
}
