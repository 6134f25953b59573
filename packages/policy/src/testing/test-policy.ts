/**
 * `testPolicy`: a TypeScript policy's handlers run in a unit test with no daemon. The policy
 * module is imported under a recording host (its configuration calls, logs and tasks are
 * recorded; DNS and throttles are answered locally), and events are called as the daemon calls
 * them: one handler, or for KumoMTA's multiple events each in turn until one returns a value.
 * @module
 */
import {
  type BridgeHandler,
  MULTIPLE_EVENTS,
  policyBridge,
  settleConfiguration,
} from '@sterna/lua';
import type { PolicyEvents } from '../event-types.js';
import type { OwnEventName } from '../events.js';
import {
  type ConfiguredCall,
  type LoggedLine,
  recordingHost,
  type SpawnedTask,
  type TestHostOptions,
} from './recording-host.js';

/** What `call(event, …)` resolves to for a fired event: the handler's answer, awaited. */
export type EventAnswer<E extends keyof PolicyEvents> = Awaited<ReturnType<PolicyEvents[E]>>;

/** A policy loaded for a test. */
export interface TestedPolicy {
  /** Runs `pre_init` then `init`, as the daemon does at start. */
  init(): Promise<void>;
  /**
   * Runs `pre_init`, `init` and `validate_config`, as `sterna --validate` does: `false` when a
   * handler called `validationFailed()`.
   */
  validate(): Promise<boolean>;
  /**
   * Calls `event` with `args` as the daemon would: `undefined` when no handler is registered.
   * A handler's `reject(…)` / `disconnect(…)` rejects with its `PolicyRejection`; any other
   * error rejects as it was thrown.
   */
  call<E extends keyof PolicyEvents>(
    event: E,
    ...args: Parameters<PolicyEvents[E]>
  ): Promise<EventAnswer<E> | undefined>;
  call<E extends string>(event: OwnEventName<E>, ...args: unknown[]): Promise<unknown>;
  /** Whether the policy registered a handler for `event`. */
  has(event: string): boolean;
  /** The configuration calls made so far, parsed (defaults applied, durations in seconds). */
  readonly configured: readonly ConfiguredCall[];
  /** The lines logged so far (`log.info(…)`, …). */
  readonly logs: readonly LoggedLine[];
  /** The tasks spawned so far (`spawnTask(…)`), not run. */
  readonly tasks: readonly SpawnedTask[];
  /** Forgets the recorded calls, logs, tasks and throttle state; handlers stay. */
  reset(): void;
}

/** Options of {@link testPolicy}: how the daemon's calls are answered. */
export type TestPolicyOptions = TestHostOptions;

// The handlers a policy module registered when it was first imported: a module runs once per
// process, so a second `testPolicy` of the same module gets them from here.
const registered = new WeakMap<object, Map<string, BridgeHandler[]>>();

/**
 * Loads a policy for a test: installs a recording host on the bridge, runs `load` (typically
 * `() => import('./policy.ts')`) and keeps the handlers it registered. Without `load`, the
 * handlers already registered on the bridge (by `on` calls in the test itself) are used.
 *
 * One tested policy runs at a time: each call puts its host on the bridge.
 */
export async function testPolicy(
  load?: () => Promise<unknown>,
  options: TestPolicyOptions = {},
): Promise<TestedPolicy> {
  const bridge = policyBridge();
  const recorder = recordingHost(options);
  bridge.host = recorder.host;
  let handlers: Map<string, BridgeHandler[]>;
  if (load === undefined) {
    handlers = bridge.handlers;
  } else {
    const before = new Map(bridge.handlers);
    bridge.handlers.clear();
    try {
      const module = await load();
      handlers = new Map(bridge.handlers);
      if (typeof module === 'object' && module !== null) {
        const first = registered.get(module);
        if (handlers.size === 0 && first !== undefined) handlers = first;
        else registered.set(module, handlers);
      }
    } finally {
      bridge.handlers.clear();
      for (const [event, list] of before) bridge.handlers.set(event, list);
    }
  }

  const call = async (event: string, ...args: unknown[]): Promise<unknown> => {
    const list = handlers.get(event);
    if (list === undefined || list.length === 0) return undefined;
    bridge.host = recorder.host;
    bridge.depth += 1;
    let result: unknown;
    try {
      if (!MULTIPLE_EVENTS.has(event)) result = await list[0]!(...args);
      else {
        for (const handler of list) {
          result = await handler(...args);
          if (result !== undefined && result !== null) break;
        }
      }
    } catch (error) {
      await settleConfiguration();
      throw error;
    } finally {
      bridge.depth -= 1;
    }
    // As the daemon's runtime does: a configuration call that failed fails the event's call,
    // awaited or not.
    const failure = await settleConfiguration();
    if (failure !== undefined) throw failure;
    return result;
  };
  const init = async () => {
    await call('pre_init');
    await call('init');
  };

  return {
    init,
    async validate() {
      await init();
      await call('validate_config');
      return !recorder.configured.some((c) => c.kind === 'validation_failed');
    },
    call: call as TestedPolicy['call'],
    has: (event) => (handlers.get(event)?.length ?? 0) > 0,
    configured: recorder.configured,
    logs: recorder.logs,
    tasks: recorder.tasks,
    reset: recorder.reset,
  };
}
