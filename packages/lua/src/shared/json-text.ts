import { setOwn } from './own-key.js';
/**
 * JSON as `kumo.serde.json_parse` reads it: standard JSON plus `//`, `/* … *\/` and `#`
 * comments (KumoMTA accepts them). Returns the text with comments blanked out.
 */
export function stripJsonComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      const start = i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      out += text.slice(start, ++i);
    } else if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
      out += ' ';
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/**
 * A JavaScript value made safe to push into Lua: `null` (JSON null, absent meta) becomes nil,
 * which wasmoon cannot push as such.
 */
export function toLua(value: unknown): unknown {
  if (value === null) return undefined;
  if (Array.isArray(value)) return value.map(toLua);
  if (typeof value === 'object' && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v !== null && v !== undefined) setOwn(out, k, toLua(v));
    }
    return out;
  }
  return value;
}

/** A Lua value as JSON-like data: `{}` stays an object, nil inside arrays becomes null. */
export function fromLua(value: unknown): unknown {
  if (typeof value === 'function') throw new Error('cannot convert a Lua function to data');
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : fromLua(v)));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) setOwn(out, k, fromLua(v));
    return out;
  }
  return value;
}
