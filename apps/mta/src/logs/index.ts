/**
 * The daemon's local log files: KumoMTA's `kumo.configure_local_logs{…}` (zstd-compressed
 * JSON-lines segments, rotated by size and age, read-only when finished). See docs/logs.md.
 * @packageDocumentation
 */
export {
  type LocalLogsConfig,
  type LogRecordParams,
  type MinFree,
  PER_RECORD_KEYS,
  type PerRecordKey,
  paramsFor,
  parseLocalLogsConfig,
} from './config.js';
export { LOGS_ERROR_CODES, type LogsErrorCode } from './errors.js';
export {
  iterateLogRecords,
  listSegments,
  readLogRecords,
  readSegment,
  type SegmentText,
} from './reader.js';
export { isSegmentName, segmentName } from './segment.js';
export { headerText, selectHeaders, selectMeta } from './select.js';
export { checkLogSpace, type LogSpace } from './space.js';
export { markExistingSegments } from './startup.js';
export { compileTemplate, type RecordTemplate } from './template.js';
export {
  LocalLogWriter,
  type LocalLogWriterOptions,
  type LocalLogWriterStats,
  type LogWriteContext,
} from './writer.js';
