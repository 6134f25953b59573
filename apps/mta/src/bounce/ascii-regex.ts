import { type TranslatedRegex, UNICODE_SPELLINGS } from '@sterna/lua';

const { WORD, WORD_BOUNDARY, NOT_WORD_BOUNDARY } = UNICODE_SPELLINGS;

// Longest first: the boundaries contain the word class.
const SWAPS: [unicode: string, ascii: string][] = [
  [NOT_WORD_BOUNDARY, '\\B'],
  [WORD_BOUNDARY, '\\b'],
  [`[^${WORD}]`, '\\W'],
  [`[${WORD}]`, '\\w'],
  [WORD, '\\w'],
  ['\\p{Nd}', '\\d'],
  ['\\P{Nd}', '\\D'],
  ['\\p{White_Space}', '\\s'],
  ['\\P{White_Space}', '\\S'],
];

/**
 * A translated pattern for text known to be ASCII: Rust's Unicode `\b \w \d \s` (which the
 * translation spells as Unicode properties and look-arounds, slow in V8) become JavaScript's
 * own, and the `u` flag goes when nothing needs it. On ASCII text both match the same (the
 * Unicode classes and case folding differ only outside ASCII); SMTP replies nearly always are.
 */
export function asciiVariant(t: Pick<TranslatedRegex, 'source' | 'flags'>): {
  source: string;
  flags: string;
} {
  let source = t.source;
  for (const [unicode, ascii] of SWAPS) source = source.split(unicode).join(ascii);
  const needsUnicode = /\\[pP]\{|\\u\{/.test(source);
  return { source, flags: needsUnicode ? t.flags : t.flags.replace('u', '') };
}
