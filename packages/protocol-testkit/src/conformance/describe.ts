import { describe } from 'vitest';
import { classificationGroup } from './classification.js';
import { closeAbortGroup } from './close-abort.js';
import { deliveryGroup } from './delivery.js';
import type { ConformanceOptions } from './harness.js';
import { lifecycleGroup } from './lifecycle.js';
import { metadataGroup } from './metadata.js';
import { optionsGroup } from './options.js';

export type {
  ConformanceOptions,
  DeliveredCopy,
  DriverHarness,
  InvalidOptionsCase,
} from './harness.js';

/**
 * Registers the conformance suite for a protocol driver with vitest: metadata, options,
 * lifecycle, delivery, per-recipient classification, and close/abort. Call it at the top level
 * of a test file; `setup` builds a fresh destination for every test.
 */
export function describeProtocolDriver(conf: ConformanceOptions): void {
  describe(`protocol driver '${conf.name ?? conf.driver.protocol}' conformance`, () => {
    metadataGroup(conf);
    optionsGroup(conf);
    lifecycleGroup(conf);
    deliveryGroup(conf);
    classificationGroup(conf);
    closeAbortGroup(conf);
  });
}
