/**
 * Bounce classification cost: microseconds per uncached classification with Sterna's starter
 * rules and with a large rule set (the starter rules repeated with other categories), through
 * the classifier's one-RegExp matcher, against the straightforward loop over one translated
 * RegExp per rule; and the cost of a cache hit. Every reply text carries a unique queue id, as
 * real replies often do, so the caches do not answer the uncached rounds.
 *
 *   npx tsx --conditions=@sterna/source bench/bounce-classifier.ts
 *   npx tsx --conditions=@sterna/source bench/bounce-classifier.ts --texts 20000 --rounds 5 --copies 6
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
// Relative imports: the workspace root does not depend on apps/mta or packages/lua.
import {
  BounceClassifier,
  RulesMatcher,
  type SourcedRule,
  STARTER_RULES_PATH,
} from '../apps/mta/src/bounce/index.js';
import { parseBounceRulesFile, translateRegex } from '../packages/lua/src/index.js';

const { values: args } = parseArgs({
  options: {
    texts: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    copies: { type: 'string', default: '6' },
  },
});
const textCount = Number(args.texts);
const rounds = Number(args.rounds);
const copies = Number(args.copies);

const starter: SourcedRule[] = parseBounceRulesFile(
  STARTER_RULES_PATH,
  readFileSync(STARTER_RULES_PATH, 'utf8'),
).map((rule) => ({ ...rule, file: 'bounce-rules.toml' }));
// A large set: the starter rules again under other category names, after the originals.
const large: SourcedRule[] = [];
for (let copy = 0; copy < copies; copy++)
  for (const rule of starter)
    large.push({ ...rule, category: copy === 0 ? rule.category : `${rule.category}${copy}` });

// Replies as they arrive in records: common providers' wording, and some no rule knows.
const replies = [
  '550 5.1.1 The email account that you tried to reach does not exist',
  '421 4.7.0 Try again later, closing connection (rate limited)',
  '552 5.2.2 Mailbox full',
  '554 5.7.1 Message rejected as spam by Content Filtering',
  '451 4.3.0 Temporary local problem, please try later',
  '550 5.7.26 Unauthenticated email is not accepted from this domain',
  '250 2.0.0 OK queued as',
  '503 5.5.1 Bad sequence of commands',
  '450 4.2.1 The user you are trying to contact is receiving mail too quickly',
  '554 5.4.14 Hop count exceeded - possible mail loop',
];
const texts = Array.from(
  { length: textCount },
  (_, i) =>
    `${replies[i % replies.length]} id=${i.toString(36)}-${Math.random().toString(36).slice(2)}`,
);

function loopMatcher(rules: readonly SourcedRule[]) {
  const compiled = rules.map((rule) => {
    const t = translateRegex(rule.pattern);
    return { category: rule.category, regex: new RegExp(t.source, t.flags) };
  });
  return (text: string) => compiled.find((rule) => rule.regex.test(text))?.category;
}

function microsPer(run: (text: string) => unknown): number {
  const samples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const start = process.hrtime.bigint();
    for (const text of texts) run(text);
    samples.push(Number(process.hrtime.bigint() - start) / 1000 / texts.length);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

const rows: string[][] = [];
for (const [name, rules] of [
  ['starter', starter],
  [`large (${large.length} rules)`, large],
] as const) {
  const matcher = new RulesMatcher(rules);
  const loop = loopMatcher(rules);
  // Same answers from both, or the comparison means nothing.
  for (const text of texts.slice(0, 200))
    if (matcher.match(text) !== loop(text)) throw new Error(`matchers disagree on ${text}`);
  rows.push([
    name,
    String(rules.length),
    microsPer((t) => matcher.match(t)).toFixed(2),
    microsPer(loop).toFixed(2),
  ]);
}
const cached = BounceClassifier.fromRules(starter, { cache_size: 64 });
const hot = replies.map((r) => `${r} id=fixed`);
for (const text of hot) cached.classifyText(text);
const hitMicros = microsPer((t) => cached.classifyText(hot[t.length % hot.length]!));

console.log(
  `bounce classification, ${textCount} unique replies per round, median of ${rounds} rounds (µs per reply)`,
);
console.log(['rules', 'count', 'one RegExp', 'loop per rule'].join('\t'));
for (const row of rows) console.log(row.join('\t'));
console.log(`cache hit (starter rules): ${hitMicros.toFixed(3)} µs`);
