import { describe, expect, it } from 'vitest';
import {
  type ConformanceOptions,
  copiesOf,
  openSignal,
  testMessage,
  withHarness,
} from './harness.js';

/** Nothing is delivered after close, nor after the caller aborted. */
export function closeAbortGroup(conf: ConformanceOptions): void {
  describe('close and abort', () => {
    it('delivers nothing after close', () =>
      withHarness(conf, async ({ open, harness, target }) => {
        const { connection } = await open();
        await connection.close();
        const message = testMessage([harness.recipients.accept[0]], target);
        const result = await connection.send(message, { signal: openSignal() }).then(
          (outcomes) => outcomes,
          () => 'rejected' as const,
        );
        if (result !== 'rejected') expect(result.map((o) => o.kind)).not.toContain('delivered');
        expect(await copiesOf(harness, message)).toEqual([]);
      }));

    it('delivers nothing for a signal aborted before send', () =>
      withHarness(conf, async ({ open, harness, target }) => {
        const { connection } = await open();
        const controller = new AbortController();
        controller.abort(new Error('conformance abort'));
        const message = testMessage([harness.recipients.accept[0]], target);
        const result = await connection.send(message, { signal: controller.signal }).then(
          (outcomes) => outcomes,
          () => 'rejected' as const,
        );
        await connection.close();
        if (result !== 'rejected') expect(result.map((o) => o.kind)).not.toContain('delivered');
        expect(await copiesOf(harness, message)).toEqual([]);
      }));

    it('still delivers on a fresh connection after another was closed', () =>
      withHarness(conf, async ({ open, harness, target }) => {
        const first = await open();
        await first.connection.close();
        const { connection } = await open();
        const message = testMessage([harness.recipients.accept[0]], target);
        const outcomes = await connection.send(message, { signal: openSignal() });
        await connection.close();
        expect(outcomes.map((o) => o.kind)).toEqual(['delivered']);
        expect(await copiesOf(harness, message)).toHaveLength(1);
      }));
  });
}
