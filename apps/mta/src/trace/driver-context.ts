import type { DriverContext } from '@sterna/core';

/** The ready queue names a traced outbound session carries (and clients filter on). */
export interface TracedQueue {
  readonly name: string;
  readonly egress_pool: string | null;
  readonly egress_source: string | null;
}

/**
 * The driver context a ready queue connects with: the same one, its tracer (when the daemon
 * traces) carrying the queue's `ready_queue`, `egress_pool` and `egress_source`, which are known
 * before any connection (KumoMTA's most focused client trace filter).
 */
export function tracedContext(ctx: DriverContext, queue: TracedQueue): DriverContext {
  if (!ctx.tracer) return ctx;
  return {
    ...ctx,
    tracer: ctx.tracer.with({
      ready_queue: queue.name,
      ...(queue.egress_pool !== null ? { egress_pool: queue.egress_pool } : {}),
      ...(queue.egress_source !== null ? { egress_source: queue.egress_source } : {}),
    }),
  };
}
