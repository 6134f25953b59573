import { formatDuration } from './duration.js';

/**
 * The retry settings of a queue (from `kumo.make_queue_config`), in seconds.
 */
export interface RetryPolicy {
  /** Base of the exponential backoff. @default 1200 (`'20 minutes'`) */
  readonly retry_interval: number;
  /** Upper bound of any one delay; no cap when absent. */
  readonly max_retry_interval?: number | undefined;
  /** Lifetime of a message, measured from its creation. @default 604800 (`'7 days'`) */
  readonly max_age: number;
}

/** KumoMTA's defaults: `retry_interval = '20 minutes'`, `max_age = '7 days'`, no cap. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { retry_interval: 1200, max_age: 604_800 };

/** The delay before the next attempt after `attempts` earlier failures, without jitter. */
export function delayForAttempt(policy: RetryPolicy, attempts: number): number {
  const delay = Math.min(policy.retry_interval * 2 ** attempts, Number.MAX_SAFE_INTEGER);
  return policy.max_retry_interval === undefined
    ? delay
    : Math.min(delay, policy.max_retry_interval);
}

/**
 * Whole seconds of jitter added to a delay: uniform within ±min(retry_interval/20, 60)/2,
 * truncated toward zero, so short intervals get none.
 */
export function retryJitter(policy: RetryPolicy, random: () => number = Math.random): number {
  const magnitude = Math.min(policy.retry_interval / 20, 60);
  return Math.trunc(random() * magnitude - magnitude / 2) + 0; // + 0 turns -0 into 0
}

/** What to do with a message after a transient failure. */
export type RetryDecision =
  | {
      readonly kind: 'retry';
      /** Seconds until the next attempt, jitter included. */
      readonly delay: number;
      /** When the next attempt is due, in epoch milliseconds. */
      readonly due: number;
      /** The attempt counter after this failure. */
      readonly num_attempts: number;
    }
  | {
      readonly kind: 'expire';
      readonly num_attempts: number;
      /** The `Expiration` record's response text. */
      readonly reason: string;
    };

/** The state {@link planRetry} needs about one message. */
export interface RetryInput {
  readonly policy: RetryPolicy;
  /** Failures so far, before this one (KumoMTA's `num_attempts`). */
  readonly num_attempts: number;
  /** Creation time of the message, epoch milliseconds. */
  readonly created: number;
  /** The current time, epoch milliseconds. */
  readonly now: number;
  /** A per-message expiry (`set_scheduling{expires=…}`), epoch ms; overrides `max_age`. */
  readonly expires?: number | undefined;
  readonly random?: () => number;
}

/**
 * Plans the retry after a transient failure exactly as KumoMTA does: the delay is
 * `retry_interval · 2^num_attempts` (capped, then jittered); the message expires as soon as
 * that next attempt would fall past `max_age` from creation (or past its own expiry), rather
 * than waiting for `max_age` to elapse.
 */
export function planRetry(input: RetryInput): RetryDecision {
  const { policy, created, now } = input;
  const delay = Math.max(
    0,
    delayForAttempt(policy, input.num_attempts) + retryJitter(policy, input.random),
  );
  const attempts = input.num_attempts + 1;
  const due = now + delay * 1000;
  if (input.expires !== undefined) {
    if (due >= input.expires) {
      return {
        kind: 'expire',
        num_attempts: attempts,
        reason: `Next delivery time would be at ${new Date(due).toISOString()} which exceeds the expiry time ${new Date(input.expires).toISOString()} configured via set_scheduling`,
      };
    }
  } else {
    const delayedAge = (now - created) / 1000 + delay;
    if (delayedAge > policy.max_age) {
      return {
        kind: 'expire',
        num_attempts: attempts,
        reason: `Next delivery time would be ${formatDuration(delayedAge)} after creation, which exceeds max_age=${formatDuration(policy.max_age)}`,
      };
    }
  }
  return { kind: 'retry', delay, due, num_attempts: attempts };
}

/**
 * The delays (seconds, no jitter) a message that always fails would wait between attempts,
 * until it expires: `R=2, max_age=1024` gives `[2, 4, 8, …, 512]`.
 */
export function retrySchedule(policy: RetryPolicy): number[] {
  const gaps: number[] = [];
  let age = 0;
  for (let n = 0; n < 64; n++) {
    const delay = delayForAttempt(policy, n);
    if (age + delay > policy.max_age) break;
    gaps.push(delay);
    age += delay;
  }
  return gaps;
}

/**
 * Attempts are not persisted; after a restart they are inferred from the message's age by
 * replaying the schedule, as KumoMTA does.
 */
export function inferNumAttempts(policy: RetryPolicy, ageSeconds: number): number {
  let elapsed = 0;
  let n = 0;
  while (n < 64) {
    const delay = delayForAttempt(policy, n);
    if (elapsed + delay > ageSeconds) break;
    elapsed += delay;
    n++;
  }
  return n;
}
