/**
 * KumoMTA's bounce classifier (`kumo.configure_bounce_classifier`): rules files compiled into
 * one matcher, the record sink that fills `bounce_classification`, and the line a response is
 * matched as.
 * @module
 */
export {
  BounceClassifier,
  type BounceClassifierParams,
  SHIPPED_PREFIX,
  SHIPPED_RULES_DIR,
  STARTER_RULES_PATH,
  UNCATEGORIZED,
} from './bounce-classifier.js';
export { classifyBounceCall } from './classify-call.js';
export { CLASSIFIED_RECORD_TYPES, classifyingSink } from './classify-records.js';
export { type ResponseLike, responseText, responseTextOf } from './response-text.js';
export { BadRule, RulesMatcher, type SourcedRule } from './rules-matcher.js';
