import { isSternaError } from '@sterna/core';
import { DriverRegistry } from '@sterna/core/engine';
import { describe, expect, it } from 'vitest';
import { type ConformanceOptions, withHarness } from './harness.js';

/** The schema accepts the harness's table, refuses bad ones naming the path, and is stable. */
export function optionsGroup(conf: ConformanceOptions): void {
  const { driver } = conf;
  describe('options', () => {
    it('resolves the harness table to this driver', () =>
      withHarness(conf, async ({ registry, harness }) => {
        const resolved = await registry.resolve(harness.options);
        expect(resolved.driver).toBe(driver);
      }));

    it('validates the same table to the same options every time', () =>
      withHarness(conf, async ({ registry, harness }) => {
        const a = await registry.resolve(harness.options);
        const b = await registry.resolve(structuredClone(harness.options));
        expect(b.options).toEqual(a.options);
      }));

    it('does not claim a table that names another protocol', async () => {
      const registry = new DriverRegistry([driver]);
      const error = await registry
        .resolve({ conformance_unclaimed_key: {} })
        .catch((e: unknown) => e);
      expect(isSternaError(error, 'STERNA_PROTOCOL_UNKNOWN')).toBe(true);
    });

    for (const bad of conf.invalidOptions ?? []) {
      it(`refuses ${JSON.stringify(bad.table)} naming ${bad.path}`, async () => {
        const registry = new DriverRegistry([driver]);
        const error = await registry.resolve(bad.table).catch((e: unknown) => e);
        expect(isSternaError(error, 'STERNA_OPTIONS_INVALID'), String(error)).toBe(true);
        expect((error as Error).message).toContain(bad.path);
      });
    }
  });
}
