/**
 * Rust regex syntax (with fancy-regex's look-around and back-references, as KumoMTA documents
 * `kumo.regex.compile`) → a JavaScript `RegExp` run with the `u` flag. What JavaScript has is
 * rewritten (`(?P<name>…)`, `\A`, `\z`, leading `(?imsx)` flags, Unicode `\d \w \s \b`, POSIX
 * classes, `\x{…}`); what it has not is refused with an error naming it, never run differently.
 */

/** Rust's Unicode `\w`, as the body of a JavaScript character class. */
const WORD = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}';
const NOT_WORD_BOUNDARY = `(?:(?<=[${WORD}])(?=[${WORD}])|(?<![${WORD}])(?![${WORD}]))`;
const WORD_BOUNDARY = `(?:(?<=[${WORD}])(?![${WORD}])|(?<![${WORD}])(?=[${WORD}]))`;

/**
 * How the translation spells Rust's Unicode `\w` (a class body), `\b` and `\B`: a caller that
 * knows its text is ASCII may put JavaScript's own back (the bounce classifier does).
 */
export const UNICODE_SPELLINGS = { WORD, WORD_BOUNDARY, NOT_WORD_BOUNDARY } as const;

/** `[[:name:]]` (ASCII, as in Rust) as the body of a character class. */
const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

/** Characters JavaScript's `u` mode lets a backslash escape outside a class. */
const SYNTAX = '^$\\.*+?()[]{}|/';

/** A pattern Sterna cannot run as KumoMTA would. */
export class RegexUnsupported extends Error {}

const refuse = (what: string): never => {
  throw new RegexUnsupported(
    `${what} is not supported (Sterna runs regexes on JavaScript's engine)`,
  );
};

/** `\p{Greek}` (a script, in Rust) → `\p{Script=Greek}`; categories and properties as they are. */
function property(name: string, negated: boolean): string {
  const p = negated ? 'P' : 'p';
  for (const candidate of [name, `Script=${name}`]) {
    try {
      new RegExp(`\\${p}{${candidate}}`, 'u');
      return `\\${p}{${candidate}}`;
    } catch {
      // try the next spelling
    }
  }
  throw new RegexUnsupported(`unknown Unicode class \\${p}{${name}}`);
}

/** A Rust pattern as JavaScript: source, flags, and each capture group's name (false: unnamed). */
export interface TranslatedRegex {
  source: string;
  flags: string;
  /** Index 0 is the whole match. */
  names: (string | false)[];
}

/** The JavaScript source and flags for a Rust pattern. */
export function translateRegex(pattern: string): TranslatedRegex {
  const names: (string | false)[] = [false];
  let at = 0;
  const flags = new Set<string>();
  // Flags at the very start, `(?i)` or `(?im)`, become the RegExp's flags.
  for (;;) {
    const lead = /^\(\?([a-zA-Z-]+)\)/.exec(pattern.slice(at));
    if (!lead) break;
    let on = true;
    for (const f of lead[1]!) {
      if (f === '-') on = false;
      else if ('imsx'.includes(f)) {
        if (on) flags.add(f);
        else flags.delete(f);
      } else if (f === 'u' && on) {
        // Unicode is already the default
      } else if (f === 'u') refuse('ASCII mode (?-u)');
      else if (f === 'U') refuse('swapped greediness (?U)');
      else if (f === 'R') refuse('CRLF mode (?R)');
      else refuse(`the flag '${f}'`);
    }
    at += lead[0].length;
  }
  const verbose = flags.has('x');
  const dotAll = flags.has('s');
  let out = '';
  let inClass = false;
  let classStart = false;
  while (at < pattern.length) {
    const c = pattern[at]!;
    if (verbose && /\s/.test(c)) {
      at++;
      continue;
    }
    if (verbose && c === '#' && !inClass) {
      while (at < pattern.length && pattern[at] !== '\n') at++;
      continue;
    }
    const atClassStart = classStart;
    classStart = false;
    if (c === '\\') {
      const [text, length] = escapeAt(pattern, at, inClass);
      out += text;
      at += length;
      continue;
    }
    if (inClass) {
      if (c === '[' && pattern[at + 1] === ':') {
        const end = pattern.indexOf(':]', at + 2);
        if (end < 0) refuse('an unclosed POSIX class');
        const name = pattern.slice(at + 2, end);
        if (name.startsWith('^')) refuse(`the negated POSIX class [:${name}:]`);
        const body = POSIX[name];
        if (body === undefined) throw new RegexUnsupported(`unknown POSIX class [:${name}:]`);
        out += body;
        at = end + 2;
        continue;
      }
      if (c === '[') refuse('a character class inside a character class');
      if ((c === '&' || c === '~' || c === '-') && pattern[at + 1] === c && !atClassStart) {
        refuse(`the class set operation '${c}${c}'`);
      }
      if (c === ']' && !atClassStart) inClass = false;
      out += c === ']' && atClassStart ? '\\]' : c;
      at++;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += '[';
      at++;
      if (pattern[at] === '^') {
        out += '^';
        at++;
      }
      classStart = true;
      continue;
    }
    if (c === '(' && pattern[at + 1] === '?') {
      const [text, length, name] = group(pattern, at);
      if (name !== undefined) names.push(name);
      out += text;
      at += length;
      continue;
    }
    if (c === '(') names.push(false);
    if ('*+?}'.includes(c) && pattern[at + 1] === '+') refuse(`the possessive quantifier '${c}+'`);
    if (c === '.' && !dotAll) {
      out += '[^\\n]';
      at++;
      continue;
    }
    out += c;
    at++;
  }
  if (inClass) refuse('an unclosed character class');
  const jsFlags = `u${[...flags].filter((f) => f !== 'x').join('')}`;
  return { source: out, flags: jsFlags, names };
}

/**
 * A `(?…` group opening at `at`: its JavaScript spelling, how much of the pattern it took, and
 * its name when it is a named capture group.
 */
function group(pattern: string, at: number): [string, number, string?] {
  const rest = pattern.slice(at);
  const named = /^\(\?P?<([^>=!]+)>/.exec(rest);
  if (named) return [`(?<${named[1]}>`, named[0].length, named[1]!];
  const backref = /^\(\?P=([^)]+)\)/.exec(rest);
  if (backref) return [`\\k<${backref[1]}>`, backref[0].length];
  for (const kept of ['(?:', '(?=', '(?!', '(?<=', '(?<!']) {
    if (rest.startsWith(kept)) return [kept, kept.length];
  }
  if (rest.startsWith('(?>')) refuse('the atomic group (?>…)');
  if (rest.startsWith('(?P>') || /^\(\?[+-]?\d/.test(rest)) refuse('a recursive call');
  if (/^\(\?[a-zA-Z-]+[:)]/.test(rest)) {
    refuse(
      'flags other than at the start of the pattern (write (?i) first, for the whole pattern)',
    );
  }
  return refuse(`the group ${rest.slice(0, 4)}…`);
}

/** A backslash escape at `at`: its JavaScript spelling and its length in the pattern. */
function escapeAt(pattern: string, at: number, inClass: boolean): [string, number] {
  const c = pattern[at + 1];
  if (c === undefined) throw new RegexUnsupported('a pattern ending in a lone backslash');
  const outside = (what: string) => {
    if (inClass) refuse(`${what} inside a character class`);
  };
  switch (c) {
    case 'A':
      outside('\\A');
      return ['(?<![\\s\\S])', 2];
    case 'z':
      outside('\\z');
      return ['(?![\\s\\S])', 2];
    case 'b':
      outside('\\b');
      return [WORD_BOUNDARY, 2];
    case 'B':
      outside('\\B');
      return [NOT_WORD_BOUNDARY, 2];
    case 'd':
      return ['\\p{Nd}', 2];
    case 'D':
      return ['\\P{Nd}', 2];
    case 's':
      return ['\\p{White_Space}', 2];
    case 'S':
      return ['\\P{White_Space}', 2];
    case 'w':
      return [inClass ? WORD : `[${WORD}]`, 2];
    case 'W':
      if (inClass) refuse('\\W inside a character class');
      return [`[^${WORD}]`, 2];
    case 'p':
    case 'P': {
      const braced = /^\{([^}]*)\}/.exec(pattern.slice(at + 2));
      if (braced) return [property(braced[1]!.replace(/\s/g, ''), c === 'P'), 2 + braced[0].length];
      const letter = pattern[at + 2];
      if (!letter) throw new RegexUnsupported(`\\${c} without a class name`);
      return [property(letter, c === 'P'), 3];
    }
    case 'x':
    case 'u':
    case 'U': {
      const rest = pattern.slice(at + 2);
      const braced = /^\{([0-9a-fA-F]+)\}/.exec(rest);
      if (braced) return [`\\u{${braced[1]}}`, 2 + braced[0].length];
      const size = c === 'x' ? 2 : c === 'u' ? 4 : 8;
      const hex = rest.slice(0, size);
      if (hex.length !== size || !/^[0-9a-fA-F]+$/.test(hex)) {
        throw new RegexUnsupported(`\\${c} needs ${size} hexadecimal digits or {…}`);
      }
      return [`\\u{${hex}}`, 2 + size];
    }
    case 'a':
      return ['\\x07', 2];
    case 'e':
      return ['\\x1B', 2];
    case 'n':
    case 't':
    case 'r':
    case 'f':
    case 'v':
      return [`\\${c}`, 2];
    case 'k': {
      const name = /^<([^>]+)>/.exec(pattern.slice(at + 2));
      if (!name) throw new RegexUnsupported('\\k needs a group name: \\k<name>');
      return [`\\k<${name[1]}>`, 2 + name[0].length];
    }
  }
  if (/[1-9]/.test(c)) {
    outside('a back-reference');
    const digits = /^\d+/.exec(pattern.slice(at + 1))![0];
    return [`\\${digits}`, 1 + digits.length];
  }
  if (/[A-Za-z0-9]/.test(c)) return refuse(`the escape \\${c}`);
  // Any other escaped character stands for itself.
  if (SYNTAX.includes(c) || (inClass && c === '-')) return [`\\${c}`, 2];
  return [c, 2];
}

/** Rust's `regex::escape`: every meta character backslashed. */
export function escapeRegex(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$#&\-~]/g, '\\$&');
}
