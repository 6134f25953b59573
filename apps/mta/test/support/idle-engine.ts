import { hostname } from 'node:os';
import { silentLogger } from '@sterna/core';
import { DriverRegistry, newSpoolId } from '@sterna/core/engine';
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

/**
 * Stores `count` messages that wait 20 minutes (one failed attempt each), one recipient each at
 * example.com (queue `example.com`); their ids, in order.
 */
export async function storeWaiting(spool: Spool, count: number): Promise<string[]> {
  const due = Date.now() + 20 * 60_000;
  const ids = Array.from({ length: count }, () => newSpoolId());
  await Promise.all(
    ids.map((id, i) => {
      const data = Buffer.from(`Subject: ${i}\r\n\r\nbody\r\n`);
      return spool.store(
        {
          id,
          sender: 's@example.org',
          recipients: [`user${i}@example.com`],
          meta: { queue: 'example.com' },
          size: data.length,
          due,
          num_attempts: 1,
        },
        data,
      );
    }),
  );
  return ids;
}
