import { errorText } from '@sterna/core';
import type { ContextImplementations, RegexOp } from '../host/host-calls.js';
import { escapeRegex, translateRegex } from './regex-translate.js';

// Compiled patterns, by their Rust text; a policy compiles a handful, the bound is a safety net.
const KEEP = 512;
const compiled = new Map<string, { re: RegExp; names: (string | false)[] }>();

function compile(pattern: string) {
  let entry = compiled.get(pattern);
  if (entry) return entry;
  try {
    const { source, flags, names } = translateRegex(pattern);
    entry = { re: new RegExp(source, `${flags}g`), names };
  } catch (error) {
    throw `kumo.regex.compile: '${pattern}': ${errorText(error).replace(/^Invalid regular expression: /, '')}`;
  }
  if (compiled.size >= KEEP) compiled.delete(compiled.keys().next().value!);
  compiled.set(pattern, entry);
  return entry;
}

/** Rust's replacement syntax: `$1`, `$name`, `${name}`, `$$`; an unknown group is ''. */
function expand(replacement: string, match: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < replacement.length; i++) {
    const c = replacement[i]!;
    if (c !== '$') {
      out += c;
      continue;
    }
    const next = replacement[i + 1];
    if (next === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string;
    if (next === '{') {
      const end = replacement.indexOf('}', i + 2);
      if (end < 0) {
        out += '$';
        continue;
      }
      name = replacement.slice(i + 2, end);
      i = end;
    } else {
      const word = /^[A-Za-z0-9_]+/.exec(replacement.slice(i + 1));
      if (!word) {
        out += '$';
        continue;
      }
      name = word[0];
      i += name.length;
    }
    const value = /^\d+$/.test(name) ? match[Number(name)] : match.groups?.[name];
    out += value ?? '';
  }
  return out;
}

function* matches(re: RegExp, haystack: string): Generator<RegExpExecArray> {
  re.lastIndex = 0;
  yield* haystack.matchAll(re);
}

/**
 * The host functions behind `kumo.regex` (kumo/regex.lua): one call per method, on the pattern's
 * compiled JavaScript form (kept by pattern text).
 */
export function regexFunctions() {
  return {
    regex: (op: RegexOp, pattern: string, haystack?: unknown, a?: unknown, b?: unknown) => {
      if (op === 'escape') return escapeRegex(String(pattern));
      const { re, names } = compile(String(pattern));
      if (op === 'compile') return undefined;
      if (typeof haystack !== 'string') throw `regex:${op}: expected a string to search`;
      switch (op) {
        case 'is_match':
          re.lastIndex = 0;
          return re.test(haystack);
        case 'find':
          return matches(re, haystack).next().value?.[0];
        case 'find_all':
          return [...matches(re, haystack)].map((m) => m[0]);
        case 'captures': {
          const m = matches(re, haystack).next().value as RegExpExecArray | undefined;
          if (!m) return undefined;
          return [m.map((g) => g ?? false), names];
        }
        case 'replace': {
          // a = the limit (0: all), b = the replacement
          const limit = Number(a);
          const replacement = String(b);
          let out = '';
          let last = 0;
          let n = 0;
          for (const m of matches(re, haystack)) {
            if (limit > 0 && n >= limit) break;
            out += haystack.slice(last, m.index) + expand(replacement, m);
            last = m.index + m[0].length;
            n++;
          }
          return out + haystack.slice(last);
        }
        case 'split': {
          const parts: string[] = [];
          let last = 0;
          for (const m of matches(re, haystack)) {
            parts.push(haystack.slice(last, m.index));
            last = m.index + m[0].length;
          }
          parts.push(haystack.slice(last));
          return parts;
        }
      }
    },
  } satisfies Partial<ContextImplementations>;
}
