import { telemetry as processTelemetry, type Telemetry } from './telemetry.js';

/** Anything with the policy runtime's `call(event, args…)`. */
interface EventCaller {
  call(event: string, ...rest: never[]): Promise<unknown>;
}

/**
 * Times every policy event call of `runtime` into `lua_event_latency{event}` (failures too:
 * a handler that raised still took its time). Patches the instance, so every holder of the
 * runtime (listeners, queues, the admin API) is measured alike.
 */
export function timeLuaEvents<T extends EventCaller>(
  runtime: T,
  telemetry: Telemetry = processTelemetry,
): T {
  const call = runtime.call.bind(runtime) as (...args: unknown[]) => Promise<unknown>;
  (runtime as { call: unknown }).call = async (event: string, ...rest: unknown[]) => {
    telemetry.luaEventStarted.inc({ event });
    const end = telemetry.luaEventLatency.startTimer({ event });
    try {
      return await call(event, ...rest);
    } finally {
      end();
    }
  };
  return runtime;
}

/** Anything with the log writer's `write()`: `undefined`, or a promise to await (back-pressure). */
interface RecordWriter {
  write(...args: never[]): Promise<void> | undefined;
}

/**
 * Times each record submission of `writer` into `log_submit_latency{logger}`: the call itself,
 * plus the wait when back-pressure makes the submitter wait.
 */
export function timeLogSubmit<T extends RecordWriter>(
  writer: T,
  logger: string,
  telemetry: Telemetry = processTelemetry,
): T {
  const write = writer.write.bind(writer) as (...args: unknown[]) => Promise<void> | undefined;
  (writer as { write: unknown }).write = (...args: unknown[]) => {
    const end = telemetry.logSubmitLatency.startTimer({ logger });
    let waiting: Promise<void> | undefined;
    try {
      waiting = write(...args);
    } catch (error) {
      end();
      throw error;
    }
    if (waiting === undefined) {
      end();
      return undefined;
    }
    return waiting.finally(end);
  };
  return writer;
}
