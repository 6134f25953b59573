import type { DaemonHandlers } from '@sterna/lua';
import type { CollectedConfig } from '../daemon/collected-config.js';
import { UNCATEGORIZED } from './bounce-classifier.js';
import { type ResponseLike, responseTextOf } from './response-text.js';

/**
 * The daemon's answer to `kumo.classify_bounce(response)`: the category the classifier `init`
 * configured gives the response, `Uncategorized` while there is none (as records say then).
 */
export function classifyBounceCall(
  collected: Pick<CollectedConfig, 'bounceClassifier'>,
): DaemonHandlers['classify_bounce'] {
  return (response) => {
    const text = responseTextOf(response as string | ResponseLike);
    return collected.bounceClassifier?.classifyText(text) ?? UNCATEGORIZED;
  };
}
