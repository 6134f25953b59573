import { RegexUnsupported, translateRegex } from '@sterna/lua';
import { asciiVariant } from './ascii-regex.js';

/** One rule to compile: where it came from, its category and its Rust-syntax pattern. */
export interface SourcedRule {
  readonly file: string;
  readonly category: string;
  readonly pattern: string;
}

/** A run of consecutive rules with the same RegExp flags, compiled into one RegExp. */
interface Segment {
  readonly regex: RegExp;
  /** For each rule of the run: the index of its marker group, and its category. */
  readonly markers: readonly (readonly [group: number, category: string])[];
}

/** A rule compiled to JavaScript: the faithful form, and the one for ASCII text. */
interface Compiled {
  readonly category: string;
  readonly unicode: { source: string; flags: string };
  readonly ascii: { source: string; flags: string };
  /** Named groups or back-references: kept in a RegExp of its own. */
  readonly standalone: boolean;
}

/** A rule that cannot be compiled: the file, the category and the pattern, and why. */
export class BadRule extends Error {}

// Printable ASCII text (nearly every SMTP reply) is matched with the ASCII forms; anything else
// (control characters too, to keep it simple) with the faithful ones.
const NOT_PLAIN = /[^\t\n\r -~]/;

/**
 * Every rule of every rules file compiled into as few RegExps as the flags allow: each rule is
 * a look-ahead from the start of the text followed by an empty marker group, all of them
 * alternatives of one sticky RegExp. The engine tries the alternatives in order, so the first
 * rule that matches anywhere in the text wins (KumoMTA: the earlier file wins), and one `exec`
 * replaces a loop over hundreds of RegExps. Patterns are translated from Rust's syntax
 * (`translateRegex`); what JavaScript cannot run the same way is refused. ASCII text runs on a
 * second compilation with JavaScript's own `\b \w \d \s` ({@link asciiVariant}): the same
 * answers, several times faster.
 */
export class RulesMatcher {
  readonly #unicode: Segment[];
  readonly #ascii: Segment[];
  /** How many rules were compiled. */
  readonly size: number;

  /** @throws BadRule naming the first rule that cannot be compiled. */
  constructor(rules: readonly SourcedRule[]) {
    this.size = rules.length;
    const compiled = rules.map(compileOne);
    this.#unicode = segments(compiled, 'unicode');
    this.#ascii = segments(compiled, 'ascii');
  }

  /** The category of the first rule matching `text`, or undefined when none does. */
  match(text: string): string | undefined {
    for (const segment of NOT_PLAIN.test(text) ? this.#unicode : this.#ascii) {
      segment.regex.lastIndex = 0;
      const m = segment.regex.exec(text);
      if (!m) continue;
      for (const [group, category] of segment.markers) if (m[group] !== undefined) return category;
    }
    return undefined;
  }
}

/** Consecutive rules of the same flags joined into one RegExp each. */
function segments(rules: readonly Compiled[], form: 'unicode' | 'ascii'): Segment[] {
  const out: Segment[] = [];
  let run = newRun('');
  const close = () => {
    if (run.parts.length > 0)
      out.push({
        regex: new RegExp(`(?:${run.parts.join('|')})`, `${run.flags}y`),
        markers: run.markers,
      });
  };
  for (const rule of rules) {
    const { source, flags } = rule[form];
    if (flags !== run.flags || rule.standalone) {
      close();
      run = newRun(flags);
    }
    run.parts.push(`(?=[\\s\\S]*?(?:${source}))()`);
    run.groups += countGroups(source, flags) + 1;
    run.markers.push([run.groups, rule.category]);
    if (rule.standalone) {
      close();
      run = newRun('');
    }
  }
  close();
  return out;
}

function newRun(flags: string) {
  return { flags, parts: [] as string[], markers: [] as [number, string][], groups: 0 };
}

/** One rule translated and checked. @throws BadRule */
function compileOne(rule: SourcedRule): Compiled {
  const where = `${rule.file}: rules.${rule.category}: pattern ${JSON.stringify(rule.pattern)}`;
  try {
    const t = translateRegex(rule.pattern);
    new RegExp(t.source, t.flags);
    const ascii = asciiVariant(t);
    new RegExp(ascii.source, ascii.flags);
    // In one RegExp, names would clash and group numbers would shift.
    const standalone = t.names.some((n) => n !== false) || /\\(?:[1-9]|k<)/.test(t.source);
    return { category: rule.category, unicode: t, ascii, standalone };
  } catch (error) {
    const why =
      error instanceof RegexUnsupported || error instanceof SyntaxError
        ? error.message
        : String(error);
    throw new BadRule(`${where}: ${why}`);
  }
}

/** How many capture groups `source` has (the engine counts them for us). */
function countGroups(source: string, flags: string): number {
  return (new RegExp(`${source}|`, flags).exec('')?.length ?? 1) - 1;
}
