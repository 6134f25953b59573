import type { Logger } from '@sterna/core';
import { SharedAdmin } from '../../cluster/shared-admin.js';
import type { QueueManager } from '../../queue/queue-manager.js';
import type { LoadedPolicy } from './load-policy.js';
import type { DaemonParts } from './parts.js';

/**
 * Boot stage: the admin levers shared with the fleet through the redis of
 * `kumo.configure_redis_throttles` (unless the policy set `share_admin_state = false`). Runs
 * after the state file's levers are restored and before the spool is queued again, so every
 * lever in force anywhere in the fleet holds here before mail moves. Without that redis, or with
 * sharing off, nothing is started and the levers stay this node's own.
 */
export async function startSharedAdmin(
  loaded: LoadedPolicy,
  queues: QueueManager,
  nodeId: string,
  log: Logger,
  parts: DaemonParts,
): Promise<SharedAdmin | undefined> {
  const params = loaded.collected.redisThrottles;
  if (!params?.share_admin_state) return undefined;
  const shared = await SharedAdmin.start(params, queues.admin.levers, { nodeId, log });
  parts.sharedAdmin = shared;
  return shared;
}
