import type { LogRecord, LogRecordType } from '@sterna/core/engine';
import type { RecordSink } from '../queue/types.js';
import type { BounceClassifier } from './bounce-classifier.js';

/** The record types KumoMTA's classifier fills `bounce_classification` in for. */
export const CLASSIFIED_RECORD_TYPES: ReadonlySet<LogRecordType> = new Set<LogRecordType>([
  'Bounce',
  'TransientFailure',
  'Expiration',
  'AdminBounce',
  'OOB',
  'Feedback',
  'Rejection',
]);

/**
 * `sink` with `bounce_classification` filled in from `classifier` on every record of a
 * {@link CLASSIFIED_RECORD_TYPES} type: the one place records are classified, before the log
 * files, the log hooks (webhooks) and the automation see them. Other records pass unchanged.
 */
export function classifyingSink(sink: RecordSink, classifier: BounceClassifier): RecordSink {
  return {
    write(record, context) {
      if (!CLASSIFIED_RECORD_TYPES.has(record.type)) return sink.write(record, context);
      const bounce_classification = classifier.classify(record.response);
      sink.write({ ...record, bounce_classification } as LogRecord, context);
    },
  };
}
