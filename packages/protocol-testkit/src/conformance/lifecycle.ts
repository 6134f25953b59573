import { describe, expect, it } from 'vitest';
import { type ConformanceOptions, withHarness } from './harness.js';

/** Sites are named, connections open, and close is safe to repeat. */
export function lifecycleGroup(conf: ConformanceOptions): void {
  describe('lifecycle', () => {
    it('names a site for the target', () =>
      withHarness(conf, async ({ registry, harness, target, ctx }) => {
        const { options } = await registry.resolve(harness.options);
        const resolution = await conf.driver.site(options, target, ctx);
        expect(resolution).toEqual({
          site: expect.objectContaining({ name: expect.any(String), service: expect.any(String) }),
        });
      }));

    it('names the same site for the same target', () =>
      withHarness(conf, async ({ registry, harness, target, ctx }) => {
        const { options } = await registry.resolve(harness.options);
        const a = await conf.driver.site(options, target, ctx);
        const b = await conf.driver.site(options, target, ctx);
        expect('site' in a && 'site' in b && [a.site.name, a.site.service]).toEqual(
          'site' in b && [b.site.name, b.site.service],
        );
      }));

    it('opens a connection with send and close', () =>
      withHarness(conf, async ({ open }) => {
        const { connection } = await open();
        expect(typeof connection.send).toBe('function');
        expect(typeof connection.close).toBe('function');
        if (conf.driver.capabilities.batching) expect(typeof connection.sendBatch).toBe('function');
        await connection.close();
      }));

    it('closes more than once without error', () =>
      withHarness(conf, async ({ open }) => {
        const { connection } = await open();
        await connection.close();
        await expect(connection.close()).resolves.toBeUndefined();
        await expect(connection.close()).resolves.toBeUndefined();
      }));

    it('closes concurrently without error', () =>
      withHarness(conf, async ({ open }) => {
        const { connection } = await open();
        const results = await Promise.allSettled([
          connection.close(),
          connection.close(),
          connection.close(),
        ]);
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
      }));
  });
}
