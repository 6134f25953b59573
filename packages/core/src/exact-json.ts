/**
 * `value` as JSON text, or undefined when JSON would drop or change part of it: a function, a
 * symbol, a bigint, `undefined`, a non-finite number, an object that is neither a plain object
 * nor an array (a Date, a Map, a class instance), or a cycle. Two values with the same exact
 * JSON (keys in the same order) are interchangeable as data, which makes the text a safe cache
 * key for the result of checking or parsing them.
 */
export function exactJson(value: unknown): string | undefined {
  let exact = true;
  let text: string | undefined;
  try {
    // `this[key]` is the value before any toJSON (a Date would arrive here as its string); once
    // inexact, nothing more is looked at (and a bigint is not handed to JSON, which throws).
    text = JSON.stringify(value, function (this: Record<string, unknown>, key, v: unknown) {
      if (!exact) return null;
      if (exactValue(this[key])) return v;
      exact = false;
      return null;
    });
  } catch {
    return undefined; // a cycle
  }
  return exact ? text : undefined;
}

function exactValue(v: unknown): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v);
    case 'object': {
      if (v === null || Array.isArray(v)) return true;
      const proto = Object.getPrototypeOf(v);
      return proto === Object.prototype || proto === null;
    }
    default:
      return false;
  }
}
