import { DRIVER_API_VERSION, isProtocolDriver } from '@sterna/core';
import { DriverRegistry } from '@sterna/core/engine';
import { describe, expect, it } from 'vitest';
import type { ConformanceOptions } from './harness.js';

/** The driver is a real definition with sane metadata and capabilities as data. */
export function metadataGroup(conf: ConformanceOptions): void {
  const { driver } = conf;
  describe('metadata', () => {
    it('was made by defineProtocolDriver for this contract version', () => {
      expect(isProtocolDriver(driver)).toBe(true);
      expect(driver.apiVersion).toBe(DRIVER_API_VERSION);
    });

    it('names its protocol key and log protocol', () => {
      expect(driver.protocol).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(driver.deliveryProtocol).toEqual(expect.stringMatching(/\S/));
    });

    it('declares its capabilities as booleans', () => {
      expect(driver.capabilities).toEqual({
        reusesConnections: expect.any(Boolean),
        multiRecipient: expect.any(Boolean),
        batching: expect.any(Boolean),
        readyQueue: expect.any(Boolean),
      });
    });

    it('registers with a registry', () => {
      expect(new DriverRegistry([driver]).get(driver.protocol)).toBe(driver);
    });
  });
}
