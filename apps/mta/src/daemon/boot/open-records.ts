import { errorText, type Logger } from '@sterna/core';
import type { LogRecord } from '@sterna/core/engine';
import { classifyingSink } from '../../bounce/index.js';
import { LocalLogWriter, parseLocalLogsConfig } from '../../logs/index.js';
import type { LuaPolicy } from '../../policy/lua-policy.js';
import type { RecordSink } from '../../queue/types.js';
import { fanOut, LogHooks } from '../../reception/log-hooks.js';
import type { Receiver } from '../../reception/receiver.js';
import type { CollectedConfig } from '../collected-config.js';
import type { DaemonParts } from './parts.js';

/** Where the daemon's log records go. */
export interface RecordSinks {
  /** Every record: to the local log files and to the log hooks. */
  readonly records: RecordSink;
  /** Whether some sink copies headers (else headers are not parsed for records). */
  readonly recordHeaders: boolean;
}

/**
 * Boot stage 3: opens the local log files (`configure_local_logs`) and the log hooks
 * (`configure_log_hook`), fanned out into one sink with `observer` (automation). Hooked records become messages, so the hooks
 * reach the receiver through `receiver`, which the next stage makes.
 */
export async function openRecordSinks(
  collected: CollectedConfig,
  policy: LuaPolicy,
  receiver: () => Receiver | undefined,
  log: Logger,
  parts: DaemonParts,
  observer: () => ((record: LogRecord) => void) | undefined = () => undefined,
): Promise<RecordSinks> {
  // Traffic shaping automation watches every record (it is made once the queues exist).
  const sinks: RecordSink[] = [{ write: (record) => observer()?.(record) }];
  if (collected.localLogs) {
    const logs = await LocalLogWriter.open(parseLocalLogsConfig(collected.localLogs), {
      logger: log,
    });
    parts.logs = logs;
    sinks.push({
      write: (record, context) => {
        try {
          void logs.write(record, context);
        } catch (error) {
          // After shutdown began a late record cannot be written; it must not take the process down.
          log.warn('log record not written', {
            type: record.type,
            id: record.id,
            error: errorText(error),
          });
        }
      },
    });
  }
  const hooks = new LogHooks(collected.logHooks, policy, receiver, log);
  parts.hooks = hooks;
  sinks.push(hooks);
  // Parse and read back headers for records only if some sink copies them.
  const recordHeaders =
    (collected.localLogs?.headers.length ?? 0) > 0 ||
    collected.logHooks.some((h) => h.headers.length > 0);
  // Classified once, before the fan-out: files, hooks and automation see the same category.
  const all = fanOut(sinks);
  const records = collected.bounceClassifier
    ? classifyingSink(all, collected.bounceClassifier)
    : all;
  return { records, recordHeaders };
}
