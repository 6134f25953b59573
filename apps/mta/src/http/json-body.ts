/** KumoMTA's JSON parser (serde_json) stops at this many nested arrays and objects. */
export const MAX_JSON_DEPTH = 128;

/** A request body that is not acceptable JSON; the listener answers 400 with its text. */
export class JsonBodyError extends Error {
  readonly statusCode = 400;
  constructor(message: string) {
    super(message);
    this.name = 'JsonBodyError';
  }
}

/**
 * Parses a request body as JSON, refusing nesting deeper than `maxDepth` before anything is
 * built. A key such as `__proto__` or `constructor` is ordinary data, as in KumoMTA: `JSON.parse`
 * makes it an own property, never a prototype.
 *
 * @throws JsonBodyError naming the limit, or with the parser's own message.
 */
export function parseJsonBody(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  const depth = nestingDepth(text, maxDepth);
  if (depth > maxDepth) {
    throw new JsonBodyError(`Body is nested deeper than ${maxDepth} levels of arrays and objects`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new JsonBodyError(`Body is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * The deepest nesting of `[` and `{` outside strings, counting no further than `stopAt + 1`.
 * Malformed text is left for the parser to describe.
 */
function nestingDepth(text: string, stopAt: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > stopAt) return deepest;
      }
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return deepest;
}
