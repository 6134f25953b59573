import { describe, expect, it } from 'vitest';
import {
  type ConformanceOptions,
  copiesOf,
  expectResponseShape,
  openSignal,
  testMessage,
  withHarness,
} from './harness.js';

/** Accepted mail arrives, byte for byte, with one delivered outcome per recipient. */
export function deliveryGroup(conf: ConformanceOptions): void {
  const { capabilities } = conf.driver;
  describe('delivery', () => {
    it('delivers a message byte for byte and says so', () =>
      withHarness(conf, async ({ open, harness, target }) => {
        const { connection } = await open();
        const [rcpt] = harness.recipients.accept;
        const message = testMessage([rcpt], target);
        const outcomes = await connection.send(message, { signal: openSignal() });
        await connection.close();
        expect(outcomes).toHaveLength(1);
        expect(outcomes[0]).toMatchObject({ recipient: rcpt, kind: 'delivered' });
        expectResponseShape(outcomes[0]!.response);
        expect(outcomes[0]!.response.code).toBeGreaterThanOrEqual(200);
        expect(outcomes[0]!.response.code).toBeLessThan(300);
        const copies = await copiesOf(harness, message);
        expect(copies).toHaveLength(1);
        expect(copies[0]!.recipients).toContain(rcpt);
      }));

    it.runIf(capabilities.reusesConnections)('carries several messages over one connection', () =>
      withHarness(conf, async ({ open, harness, target }) => {
        const { connection } = await open();
        const [rcpt] = harness.recipients.accept;
        const messages = [0, 1, 2].map(() => testMessage([rcpt], target));
        for (const message of messages) {
          const outcomes = await connection.send(message, { signal: openSignal() });
          expect(outcomes.map((o) => o.kind)).toEqual(['delivered']);
        }
        await connection.close();
        for (const message of messages) expect(await copiesOf(harness, message)).toHaveLength(1);
      }),
    );

    it.runIf(capabilities.multiRecipient)('answers per recipient for a message with two', () =>
      withHarness(conf, async ({ open, harness, target }) => {
        const { connection } = await open();
        const rcpts = [...harness.recipients.accept];
        const message = testMessage(rcpts, target);
        const outcomes = await connection.send(message, { signal: openSignal() });
        await connection.close();
        expect(outcomes.map((o) => [o.recipient, o.kind])).toEqual(
          rcpts.map((r) => [r, 'delivered']),
        );
        const reached = (await copiesOf(harness, message)).flatMap((c) => c.recipients);
        for (const rcpt of rcpts) expect(reached).toContain(rcpt);
      }),
    );

    it.runIf(capabilities.batching)('delivers a batch with one outcome list per message', () =>
      withHarness(conf, async ({ open, harness, target }) => {
        const { connection } = await open();
        const [rcpt] = harness.recipients.accept;
        const messages = [testMessage([rcpt], target), testMessage([rcpt], target)];
        const results = await connection.sendBatch!(messages, { signal: openSignal() });
        await connection.close();
        expect(results.map((r) => r.map((o) => o.kind))).toEqual([['delivered'], ['delivered']]);
      }),
    );
  });
}
