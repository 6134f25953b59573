import { describeProtocolDriver } from '../src/index.js';
import { invalidOptions, memoryDriver, memoryHarness } from './fixtures/memory-driver.js';

// The sound reference driver passes the whole suite.
describeProtocolDriver({ driver: memoryDriver(), setup: memoryHarness, invalidOptions });
