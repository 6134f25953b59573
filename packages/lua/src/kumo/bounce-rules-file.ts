import { createRequire } from 'node:module';
import { errorText } from '@sterna/core';

// smol-toml lives in this package; the daemon reads bounce rules files through here.
const require = createRequire(import.meta.url);

/** One rule of a bounce classifier rules file: a category and one regular expression. */
export interface BounceRule {
  readonly category: string;
  /** The pattern as the file spells it (Rust regex syntax). */
  readonly pattern: string;
}

/**
 * Reads the text of a `kumo.configure_bounce_classifier` rules file: a `rules` table mapping a
 * category to a list of regular expressions, in TOML, or in JSON when the path ends `.json`.
 * Rules come back in the order the file writes them.
 *
 * @throws Error naming what is wrong (the caller prefixes the path).
 */
export function parseBounceRulesFile(path: string, text: string): BounceRule[] {
  let data: unknown;
  try {
    data = path.toLowerCase().endsWith('.json')
      ? JSON.parse(text)
      : (require('smol-toml') as typeof import('smol-toml')).parse(text);
  } catch (error) {
    throw new Error(`not valid ${path.endsWith('.json') ? 'JSON' : 'TOML'}: ${errorText(error)}`);
  }
  const rules = isTable(data) ? data.rules : undefined;
  if (!isTable(rules)) throw new Error('expected a [rules] table of category = [patterns]');
  const out: BounceRule[] = [];
  for (const [category, patterns] of Object.entries(rules)) {
    if (!Array.isArray(patterns) || patterns.some((p) => typeof p !== 'string')) {
      throw new Error(`rules.${category}: expected a list of regular expressions (strings)`);
    }
    for (const pattern of patterns as string[]) out.push({ category, pattern });
  }
  return out;
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
