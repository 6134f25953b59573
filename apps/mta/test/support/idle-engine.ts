import { hostname } from 'node:os';
import { silentLogger } from '@sterna/core';
import { DriverRegistry } from '@sterna/core/engine';
import { QueueManager } from '../../src/queue/queue-manager.js';
import type { EnginePolicy } from '../../src/queue/types.js';
import type { Spool } from '../../src/spool/index.js';

/**
 * A real queue engine over `spool` with nothing behind it, for messages that are not due: no
 * policy, no driver, no log sink. Any attempt to deliver throws. Used by the restore tests and
 * by bench/queued-memory.ts.
 */
export function idleEngine(spool: Spool, nodeId = 'test'): QueueManager {
  const never = (): never => {
    throw new Error('nothing is due: this engine must not deliver');
  };
  const policy: EnginePolicy = {
    queueConfig: async () => never(),
    egressPath: async () => never(),
  };
  return new QueueManager({
    spool,
    policy,
    registry: new DriverRegistry([]),
    logs: { write: () => {} },
    driverContext: {
      logger: silentLogger,
      clock: { now: () => Date.now() },
      signal: new AbortController().signal,
      resolver: undefined as never,
      hostname: hostname(),
    },
    nodeId,
  });
}
