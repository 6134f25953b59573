// Which templates can be rendered without a wall-clock watchdog.
//
// Fuel counts MiniJinja instructions, not their cost: one instruction may copy a string of many
// megabytes, so a short loop growing a string (`{% set ns.s = ns.s ~ x %}`) or a template
// repeating `("x" * 10**8) | length` runs for many seconds within the fuel. Such templates are
// rendered under a watchdog (see template-engine.ts), which costs about 0.1 ms per render. Most
// mail templates are plainer: variables, one filter, `if` on a variable, `for` over a list. In
// those every instruction costs a constant, or a bounded literal, or what it writes; so a render
// costs at most the fuel plus its output (capped by the engine's memory), and skips the watchdog.
// This file recognizes them, conservatively: anything it does not know needs the watchdog, so a
// mistake here costs speed, never safety.

const FILTERS = new Set(['upper', 'lower', 'title', 'capitalize', 'e', 'escape', 'safe']);
const DEFAULT_FILTERS = new Set(['default', 'd']);
const TESTS = new Set(['defined', 'undefined', 'none']);
const LITERAL_WORDS = new Set(['true', 'false', 'none', 'True', 'False', 'None']);
// A comparison with a string costs up to its length, in every iteration of a loop.
const MAX_LITERAL = 256;

type Token = { kind: 'name' | 'string' | 'number' | 'op'; text: string };

/**
 * Whether every block of `source` is one of: a comment; `{{ value }}` or `{{ value | filter }}`
 * (a change of case, an escape, or `default` with literal arguments); `{% if %}`/`{% elif %}`
 * with conditions made of values, `not`, `and`/`or`, `==`/`!=` against a literal and
 * `is [not] defined|undefined|none`; `{% else %}`/`{% endif %}`; `{% for a[, b] in value %}`/
 * `{% endfor %}`; `{% autoescape true|false %}`, `{% with %}` and their ends (bare, as
 * compileTemplates joins parts with them). A value is a variable with `.name` and `['key']` lookups, or a literal (a
 * string of at most 256 characters).
 */
export function isBoundedTemplate(source: string): boolean {
  let at = 0;
  for (;;) {
    const open = source.indexOf('{', at);
    if (open < 0 || open + 1 >= source.length) return true;
    const kind = source[open + 1];
    if (kind === '#') {
      const close = source.indexOf('#}', open + 2);
      if (close < 0) return false;
      at = close + 2;
      continue;
    }
    if (kind !== '{' && kind !== '%') {
      at = open + 1;
      continue;
    }
    const block = readBlock(source, open + 2, kind === '{' ? '}}' : '%}');
    if (!block) return false;
    if (!(kind === '{' ? isOutput(block.tokens) : isTag(block.tokens))) return false;
    at = block.end;
  }
}

/** The tokens of a block up to its closing delimiter (outside strings), or undefined. */
function readBlock(
  source: string,
  start: number,
  close: string,
): { tokens: Token[]; end: number } | undefined {
  const tokens: Token[] = [];
  let i = start;
  if (source[i] === '-' || source[i] === '+') i++;
  for (;;) {
    while (i < source.length && /\s/.test(source[i]!)) i++;
    if (i >= source.length) return undefined;
    const rest = source.slice(i, i + 3);
    if (rest.startsWith(close)) return { tokens, end: i + 2 };
    if ((rest[0] === '-' || rest[0] === '+') && rest.slice(1).startsWith(close)) {
      return { tokens, end: i + 3 };
    }
    const c = source[i]!;
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i, i + 256));
    if (word) {
      tokens.push({ kind: 'name', text: word[0] });
      i += word[0].length;
    } else if (/[0-9]/.test(c)) {
      const number = /^[0-9]{1,15}(?![0-9A-Za-z_.])/.exec(source.slice(i, i + 17));
      if (!number) return undefined;
      tokens.push({ kind: 'number', text: number[0] });
      i += number[0].length;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < source.length && source[j] !== c) j += source[j] === '\\' ? 2 : 1;
      if (j >= source.length || j - i - 1 > MAX_LITERAL) return undefined;
      tokens.push({ kind: 'string', text: source.slice(i, j + 1) });
      i = j + 1;
    } else if (rest.startsWith('==') || rest.startsWith('!=')) {
      tokens.push({ kind: 'op', text: rest.slice(0, 2) });
      i += 2;
    } else if ('.|()[],'.includes(c)) {
      tokens.push({ kind: 'op', text: c });
      i++;
    } else {
      return undefined;
    }
  }
}

/** A cursor over a block's tokens. */
class Reader {
  #i = 0;
  constructor(readonly tokens: Token[]) {}
  peek(): Token | undefined {
    return this.tokens[this.#i];
  }
  take(kind?: Token['kind'], text?: string): Token | undefined {
    const token = this.tokens[this.#i];
    if (!token || (kind && token.kind !== kind) || (text !== undefined && token.text !== text)) {
      return undefined;
    }
    this.#i++;
    return token;
  }
  done(): boolean {
    return this.#i === this.tokens.length;
  }
}

function isLiteral(r: Reader): boolean {
  const t = r.peek();
  if (!t) return false;
  if (
    t.kind === 'string' ||
    t.kind === 'number' ||
    (t.kind === 'name' && LITERAL_WORDS.has(t.text))
  ) {
    r.take();
    return true;
  }
  return false;
}

/** A variable with `.name` / `['key']` lookups, or a literal. */
function isValue(r: Reader): boolean {
  if (isLiteral(r)) return true;
  const head = r.take('name');
  if (!head || ['not', 'and', 'or', 'is', 'if', 'else', 'in'].includes(head.text)) return false;
  for (;;) {
    if (r.take('op', '.')) {
      if (!r.take('name')) return false;
    } else if (r.take('op', '[')) {
      if (!r.take('string') || !r.take('op', ']')) return false;
    } else {
      return true;
    }
  }
}

function isOutput(tokens: Token[]): boolean {
  const r = new Reader(tokens);
  if (!isValue(r)) return false;
  if (r.take('op', '|')) {
    const filter = r.take('name');
    if (!filter) return false;
    if (DEFAULT_FILTERS.has(filter.text)) {
      if (r.take('op', '(')) {
        if (!isLiteral(r)) return false;
        if (r.take('op', ',') && !isLiteral(r)) return false;
        if (!r.take('op', ')')) return false;
      }
    } else if (!FILTERS.has(filter.text)) {
      return false;
    }
  }
  return r.done();
}

function isCondition(r: Reader): boolean {
  for (;;) {
    while (r.take('name', 'not'));
    if (!isValue(r)) return false;
    if (r.take('op', '==') || r.take('op', '!=')) {
      if (!isLiteral(r)) return false;
    } else if (r.take('name', 'is')) {
      r.take('name', 'not');
      const test = r.take('name');
      if (!test || !TESTS.has(test.text)) return false;
    }
    if (!(r.take('name', 'and') || r.take('name', 'or'))) return true;
  }
}

function isTag(tokens: Token[]): boolean {
  const r = new Reader(tokens);
  const tag = r.take('name');
  if (!tag) return false;
  if (tag.text === 'if' || tag.text === 'elif') return isCondition(r) && r.done();
  if (tag.text === 'for') {
    do {
      if (!r.take('name')) return false;
    } while (r.take('op', ','));
    return r.take('name', 'in') !== undefined && isValue(r) && r.done();
  }
  // The wrapping compileTemplates puts around each part.
  if (tag.text === 'autoescape')
    return (r.take('name', 'true') ?? r.take('name', 'false')) !== undefined && r.done();
  return (
    ['else', 'endif', 'endfor', 'with', 'endwith', 'endautoescape'].includes(tag.text) && r.done()
  );
}
